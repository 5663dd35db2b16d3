"""Speculative session calls (docs/SCALING.md, "Speculative session calls"): a replica runs a call
on its last copy of the session and commits it in one statement on condition that the row is
still that copy and that no knowledge-base change the prediction missed was committed; otherwise
the statement hands back the current row and the call runs again. These tests drive the paths
where the copy is stale — other replicas writing the same session through the speculative and
the locked paths at once, a learn elsewhere between two calls — against a real PostgreSQL 15,
and check through /metrics that the speculative path (and its retries) really ran."""
import re
import threading
import urllib.request

import pytest
from google.protobuf import wrappers_pb2

from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, types_pb2

from conftest import start_kato_server
from test_postgres_sessions import Replica


@pytest.fixture(scope="module")
def three(binaries, pg):
    started = [Replica(binaries, pg, "--admin-port", "0") for _ in range(3)]
    yield started
    for r in started:
        r.stop()


def speculative(replica):
    """{outcome: count} of kato_session_speculative_total on a replica."""
    with urllib.request.urlopen(f"http://{replica.server.admin()}/metrics", timeout=5) as r:
        page = r.read().decode()
    return {m.group(1): float(m.group(2))
            for m in re.finditer(r'^kato_session_speculative_total\{outcome="(\w+)"\} (\S+)$', page, re.M)}


def total(three, outcome):
    return sum(speculative(r).get(outcome, 0) for r in three)


def observation(symbol):
    return types_pb2.Observation(strings=[symbol])


def test_three_clients_mixing_speculative_and_locked_calls_on_one_session_lose_no_event(three):
    """A and C observe (speculative: each one's copy is made stale by the others), B appends with
    ObserveSequence (the locked path: row lock, knowledge-base writer). Every acknowledged event
    is in the STM exactly once, each client's in its order."""
    a, b, c = three
    sid = a.create("speculative-1", max_pattern_length=0).session_id
    per_client = 40
    acknowledged = {"a": [], "b": [], "c": []}
    errors = []
    refreshed_before = total(three, "refreshed")

    def hammer(tag, call):
        try:
            for i in range(per_client):
                call(f"{tag}{i:03d}")
                acknowledged[tag].append(f"{tag}{i:03d}")
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    calls = {
        "a": lambda s: a.see(sid, s),
        "b": lambda s: b.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(session_id=sid, observations=[observation(s)])),
        "c": lambda s: c.see(sid, s),
    }
    threads = [threading.Thread(target=hammer, args=(tag, call)) for tag, call in calls.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for reader in three:  # a read on each replica sees every acknowledged event, whatever its copy was
        stm = [e[0] for e in reader.stm(sid)]
        assert sorted(stm) == sorted(acknowledged["a"] + acknowledged["b"] + acknowledged["c"])
        for tag in "abc":
            assert [s for s in stm if s.startswith(tag)] == acknowledged[tag]
    # The speculative path ran and met stale copies (it would pass on the locked path alone otherwise).
    assert total(three, "refreshed") > refreshed_before
    assert total(three, "current") + total(three, "refreshed") >= per_client


def test_a_read_on_a_replica_whose_copy_is_stale_returns_the_latest_state(three):
    a, b, _ = three
    sid = a.create("speculative-2", max_pattern_length=0).session_id
    for i in range(10):
        a.see(sid, f"a{i}")          # a's copy is now current
        b.see(sid, f"b{i}")          # … and stale
        assert a.stm(sid)[-2:] == [[f"a{i}"], [f"b{i}"]]
        b.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
        assert a.stm(sid) == [] and b.stm(sid) == []


def test_a_learn_on_one_replica_is_in_the_next_prediction_of_a_session_whose_copy_is_current_elsewhere(three):
    """B's copy of the session is current (only B touches it), so B's next observe is one
    conditional statement with no version read before it: the statement's knowledge-base check
    must make B catch up with the learn A just acknowledged, then predict again."""
    a, b, _ = three
    node = "speculative-3"
    teacher = a.create(node).session_id
    sid = b.create(node, max_pattern_length=0, recall_threshold=0.1).session_id
    current_before = speculative(b).get("current", 0)
    missing = []
    for i in range(25):
        x, y = f"x{i}", f"y{i}"
        b.see(sid, x)
        a.see(teacher, x)
        a.see(teacher, y)
        name = a.observe.Learn(observe_pb2.LearnRequest(session_id=teacher)).pattern_name
        b.see(sid, y)
        got = b.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions
        if name.removeprefix("PTRN|") not in {p.name for p in got}:
            missing.append(i)
        b.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
    assert missing == []
    assert speculative(b).get("current", 0) - current_before >= 25  # the one-statement path ran


def test_auto_learning_sessions_take_the_locked_path_and_count_every_learn(three, pg):
    """An observe that may auto-learn writes the knowledge base: it must not be speculative (a
    commit cannot be taken back). Two replicas auto-learning on one session: every learn counted."""
    a, b, _ = three
    sid = a.create("speculative-4", max_pattern_length=2).session_id
    names = []
    for i in range(10):
        names.append(a.see(sid, "p").auto_learned_pattern)
        names.append(b.see(sid, "q").auto_learned_pattern)
    learned = [n for n in names if n]
    assert learned
    freq = pg.psql("SELECT sum(frequency) FROM kb_patterns WHERE node_id = 'speculative-4'").stdout.strip()
    assert int(freq) == len(learned)
