"""A prediction response larger than a message-size limit (issue 15): a clear RESOURCE_EXHAUSTED that
names the limit, for the call that hit it only — never a broken stream or connection.

Two limits meet a large response: the server's own (`--max-send-message-bytes`, 64 MiB by default,
≈1M future potentials) and the client's receive limit (grpcio's default is 4 MiB, ≈70k future
potentials). The knowledge base here has one future per pattern, so GetPredictions carries one future
potential per learned pattern and the size is chosen by the pattern count."""
import subprocess

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2
from kato_client._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc

from conftest import start_kato_server

PATTERNS = 600  # ≈ 600 future potentials, ≈ 20 KB: above a 16 KiB limit, far below the default one
LIMIT = 16384


def stubs(ch):
    return (session_pb2_grpc.SessionServiceStub(ch), observe_pb2_grpc.ObserveServiceStub(ch),
            predict_pb2_grpc.PredictServiceStub(ch))


def session_with_many_futures(ch):
    """A session whose last observe produced one future potential per learned pattern: patterns
    [["a"], ["f<i>"]], then the STM ["a", "q"] matches every one with a distinct future."""
    sessions, obs, _ = stubs(ch)
    cfg = types_pb2.SessionConfig()
    cfg.max_predictions.value = 1  # the future potentials make the size, not the predictions
    sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="big-response", config=cfg)).session_id
    for i in range(PATTERNS):
        obs.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            session_id=sid, learn_at_end=True,
            observations=[types_pb2.Observation(strings=["a"]), types_pb2.Observation(strings=[f"f{i}"])]))
    obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["a", "q"]))
    return sid


@pytest.fixture
def small_limit_server(binaries):
    s = start_kato_server(binaries, "--in-memory", "--max-send-message-bytes", str(LIMIT))
    yield s
    s.stop()


@pytest.fixture
def default_server(binaries):
    s = start_kato_server(binaries, "--in-memory")
    yield s
    s.stop()


def test_get_predictions_over_the_server_limit_is_resource_exhausted_naming_the_limit(small_limit_server):
    with grpc.insecure_channel(small_limit_server.address) as ch:
        _, obs, predict = stubs(ch)
        sid = session_with_many_futures(ch)
        with pytest.raises(grpc.RpcError) as e:
            predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(LIMIT) in e.value.details(), e.value.details()
        # Only that call ended: the connection and the session keep working.
        stm = obs.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid))
        assert [list(ev.symbols) for ev in stm.events] == [["a", "q"]]
        obs.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
        obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["f1", "zz"]))  # one future at most
        small = predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
        assert len(small.future_potentials) <= 1


def test_subscription_update_over_the_server_limit_ends_the_stream_with_resource_exhausted(small_limit_server):
    with grpc.insecure_channel(small_limit_server.address) as ch:
        _, obs, predict = stubs(ch)
        sid = session_with_many_futures(ch)
        updates = predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True))
        with pytest.raises(grpc.RpcError) as e:
            for _ in updates:
                pass
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(LIMIT) in e.value.details(), e.value.details()
        assert obs.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid)).events


def test_get_predictions_over_the_client_receive_limit_is_the_clients_resource_exhausted(default_server):
    # The server sends it (below its 64 MiB); grpcio refuses it by its own receive limit, with the limit
    # in the message, and the channel stays usable.
    options = [("grpc.max_receive_message_length", LIMIT)]
    with grpc.insecure_channel(default_server.address, options=options) as ch:
        _, obs, predict = stubs(ch)
        sid = session_with_many_futures(ch)
        with pytest.raises(grpc.RpcError) as e:
            predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert str(LIMIT) in e.value.details(), e.value.details()
        assert obs.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid)).events
    with grpc.insecure_channel(default_server.address) as ch:
        response = stubs(ch)[2].GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
        assert len(response.future_potentials) == PATTERNS


def test_max_send_message_bytes_below_1024_is_refused(binaries):
    out = subprocess.run([str(binaries / "kato-server"), "--in-memory", "--port", "0",
                          "--max-send-message-bytes", "10"], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "max-send-message-bytes" in out.stderr
