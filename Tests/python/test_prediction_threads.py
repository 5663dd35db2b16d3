"""Predictions split over cores (`--prediction-threads`, `--prediction-split-candidates`; issue 15):
the server hands the engine an executor, and a split prediction must be the one-piece prediction bit
for bit — same predictions, same order, same floats, same future potentials — over real gRPC.

The split is forced on with pieces of at least one candidate and no knowledge-base size minimum, so even the golden cases' small
knowledge bases are cut into pieces; a random knowledge base with hundreds of candidates per query
is then compared response for response (serialized bytes) between a server that never splits and
one that always does."""
import random
import re
import subprocess
import urllib.request

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2
from kato_client._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc

from conftest import start_kato_server
from kato_golden import GoldenRunner, load_cases

SPLIT = ("--prediction-threads", "3", "--prediction-split-candidates", "1", "--prediction-split-patterns", "0")
CASES = load_cases()


@pytest.fixture(scope="module")
def split_server(binaries):
    server = start_kato_server(binaries, "--in-memory", *SPLIT)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def one_piece_server(binaries):
    server = start_kato_server(binaries, "--in-memory", "--prediction-threads", "1")
    yield server
    server.stop()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case_reproduced_with_every_prediction_split(split_server, case):
    with grpc.insecure_channel(split_server.address) as ch:
        failure = GoldenRunner(ch).run_case(case)
    assert failure is None, failure


def random_knowledge_base(seed, patterns=700, vocabulary=40):
    rng = random.Random(seed)
    symbols = [f"s{i}" for i in range(vocabulary)]
    return rng, [[rng.sample(symbols, rng.randint(1, 4)) for _ in range(rng.randint(2, 6))] for _ in range(patterns)]


def learn_all(ch, node, kb, threshold):
    sessions = session_pb2_grpc.SessionServiceStub(ch)
    observe = observe_pb2_grpc.ObserveServiceStub(ch)
    cfg = types_pb2.SessionConfig()
    cfg.recall_threshold.value = threshold
    cfg.max_predictions.value = 50
    sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node, config=cfg)).session_id
    for events in kb:
        observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            session_id=sid, learn_at_end=True, observations=[types_pb2.Observation(strings=e) for e in events]))
    return sid


def predictions_after(ch, sid, stm):
    observe = observe_pb2_grpc.ObserveServiceStub(ch)
    predict = predict_pb2_grpc.PredictServiceStub(ch)
    observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
    for event in stm:
        observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=event))
    return predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))


@pytest.mark.parametrize("seed, threshold", [(1, 0.1), (2, 0.0), (3, 0.4)])
def test_split_predictions_equal_one_piece_predictions_on_a_random_knowledge_base(
        split_server, one_piece_server, seed, threshold):
    rng, kb = random_knowledge_base(seed)
    node = f"random-{seed}"
    with grpc.insecure_channel(split_server.address) as split, grpc.insecure_channel(one_piece_server.address) as one:
        split_sid, one_sid = learn_all(split, node, kb, threshold), learn_all(one, node, kb, threshold)
        compared = 0
        for q in range(25):
            base = rng.choice(kb)
            stm = base[:rng.randint(1, len(base))] if q % 3 else [rng.choice(base)]
            a, b = predictions_after(split, split_sid, stm), predictions_after(one, one_sid, stm)
            a.session_id = b.session_id = ""  # each server names its own session
            assert a.SerializeToString(deterministic=True) == b.SerializeToString(deterministic=True), \
                f"seed {seed} threshold {threshold} stm {stm}: split {len(a.predictions)} predictions, " \
                f"one piece {len(b.predictions)}"
            compared += len(a.predictions) > 0
        # The comparison must have compared predictions, not empty answers, and split ones.
        assert compared >= 20
        assert predictions_split(split_server) >= compared
        assert predictions_split(one_piece_server) == 0


def predictions_split(server):
    with urllib.request.urlopen(f"http://{server.admin()}/metrics", timeout=5) as r:
        text = r.read().decode()
    m = re.search(r"^kato_predictions_split_total (\S+)$", text, re.M)
    assert m, "kato_predictions_split_total is not on /metrics"
    return float(m.group(1))


@pytest.mark.parametrize("args, message", [
    (["--prediction-threads", "0"], "prediction-threads must be 1…64"),
    (["--prediction-split-candidates", "0"], "prediction-split-candidates must be >= 1"),
    (["--prediction-split-patterns=-1"], "prediction-split-patterns must be >= 0"),
    (["--prediction-threads", "two"], "'two' is invalid for '--prediction-threads"),
])
def test_bad_prediction_thread_settings_are_refused_with_the_setting_named(binaries, args, message):
    r = subprocess.run([str(binaries / "kato-server"), "--check-config", "--in-memory", *args],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr


@pytest.mark.parametrize("env, message", [
    ({"KATO_PREDICTION_THREADS": "0"}, "prediction-threads must be 1…64"),
    ({"KATO_PREDICTION_THREADS": "two"}, "prediction-threads must be an integer (got two)"),
    ({"KATO_PREDICTION_SPLIT_CANDIDATES": "0"}, "prediction-split-candidates must be >= 1"),
])
def test_prediction_thread_settings_from_the_environment_are_read(binaries, env, message):
    r = subprocess.run([str(binaries / "kato-server"), "--check-config", "--in-memory"], capture_output=True, text=True,
                       timeout=30, env={**env, "PATH": "/usr/bin:/bin"})
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
