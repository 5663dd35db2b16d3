"""Rate limits against a real kato-server: per-session and per-principal token buckets
(streaming messages count), the concurrent-calls limit, RESOURCE_EXHAUSTED with RetryInfo and
grpc-retry-pushback-ms, and KATO's spec profile shipped as a sample config."""
import pathlib
import threading
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc
from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc

from conftest import ROOT, start_kato_server
from security_support import MEM, status_details


def stubs(ch):
    return (session_pb2_grpc.SessionServiceStub(ch), observe_pb2_grpc.ObserveServiceStub(ch),
            predict_pb2_grpc.PredictServiceStub(ch))


def observe(obs, sid, *strings):
    return obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=list(strings) or ["a"]))


def assert_limited(err, scope=None):
    assert err.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, err
    info, retry = status_details(err)
    trailers = dict(err.trailing_metadata())
    pushback = int(trailers["grpc-retry-pushback-ms"])
    assert pushback > 0
    assert retry is not None
    delay_ms = retry.retry_delay.seconds * 1000 + retry.retry_delay.nanos / 1e6
    assert abs(delay_ms - pushback) <= 1
    if scope:
        assert info.reason == "RATE_LIMITED" and info.metadata["scope"] == scope
    return info, pushback


@pytest.fixture
def server(binaries, request):
    s = start_kato_server(binaries, *request.param, env=MEM)
    yield s
    s.stop()


# 0.5 a second: the three calls of the burst must not span a refill (2 s), however loaded the machine.
@pytest.mark.parametrize("server", [("--rate-limit-session-rate", "0.5", "--rate-limit-session-burst", "3")], indirect=True)
def test_session_bucket(server):
    with grpc.insecure_channel(server.address) as ch:
        sessions, obs, _ = stubs(ch)
        a = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n")).session_id
        b = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n")).session_id
        for _ in range(3):
            observe(obs, a)
        with pytest.raises(grpc.RpcError) as e:
            observe(obs, a)
        _, pushback = assert_limited(e.value, "session")
        assert pushback <= 2000  # one token's interval at 0.5 a second
        # Nothing was applied by the refused call, and another session is not affected.
        observe(obs, b)
        time.sleep(pushback / 1000 + 0.05)
        assert observe(obs, a).stm_length == 4


# 0.1 a second: the stream's ten messages must not span a refill (10 s), however loaded the machine.
@pytest.mark.parametrize("server", [("--rate-limit-principal-rate", "0.1", "--rate-limit-principal-burst", "5")], indirect=True)
def test_principal_bucket_counts_stream_messages(server):
    with grpc.insecure_channel(server.address) as ch:
        _, obs, _ = stubs(ch)
        acks = []

        def requests():
            for i in range(10):
                yield observe_pb2.ObserveRequest(node_id="stream", strings=[f"s{i}"])

        with pytest.raises(grpc.RpcError) as e:
            for ack in obs.ObserveStream(requests()):
                acks.append(ack)
        assert_limited(e.value, "principal")
        assert len(acks) == 5


@pytest.mark.parametrize("server", [("--max-concurrent-calls", "2",)], indirect=True)
def test_concurrency_limit_refuses_at_once(server):
    with grpc.insecure_channel(server.address) as ch:
        sessions, obs, predict = stubs(ch)
        sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n")).session_id
        req = predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True)
        s1, s2 = predict.SubscribePredictions(req), predict.SubscribePredictions(req)
        next(s1), next(s2)
        start = time.time()
        with pytest.raises(grpc.RpcError) as e:
            observe(obs, sid)
        assert time.time() - start < 10  # refused, not queued until a place frees (none would: s1, s2 stay open)
        info, _ = assert_limited(e.value)
        assert info.reason == "CONCURRENCY_LIMIT"
        s1.cancel()
        s2.cancel()
        deadline = time.time() + 30
        while True:
            try:
                observe(obs, sid)
                break
            except grpc.RpcError:
                assert time.time() < deadline
                time.sleep(0.05)


def test_kato_spec_profile_sample(binaries):
    config = ROOT / "docs" / "samples" / "ratelimit-kato-spec.json"
    server = start_kato_server(binaries, "--config", str(config), env=MEM)
    try:
        with grpc.insecure_channel(server.address) as ch:
            sessions, obs, _ = stubs(ch)
            sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n")).session_id
            for _ in range(60):
                observe(obs, sid)
            with pytest.raises(grpc.RpcError) as e:
                observe(obs, sid)
            _, pushback = assert_limited(e.value, "session")
            assert 0 < pushback <= 1000
    finally:
        server.stop()


def test_defaults_are_not_met_by_a_busy_client(binaries):
    server = start_kato_server(binaries, env=MEM)
    try:
        with grpc.insecure_channel(server.address) as ch:
            _, obs, _ = stubs(ch)
            errors = []

            def work():
                try:
                    for i in range(300):
                        obs.Observe(observe_pb2.ObserveRequest(node_id="busy", strings=[str(i)]))
                except grpc.RpcError as e:
                    errors.append(e)
            threads = [threading.Thread(target=work) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert not errors
    finally:
        server.stop()
