"""Tracing, logs, metrics and the admin HTTP port against a real kato-server."""
import json
import threading
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, session_pb2, session_pb2_grpc

from conftest import RunningServer, start_kato_server
from security_support import MEM, admin_address, http_get, metric, status_details

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def server(binaries, tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("obs") / "keys.json"
    keyfile.write_text(json.dumps([{"principal": "obs-user", "key": "obs-key-123", "roles": ["admin"], "nodes": ["*"]}]))
    s = start_kato_server(binaries, "--log-level", "info", "--auth-keys", str(keyfile),
                          "--rate-limit-session-rate", "1", "--rate-limit-session-burst", "10", env=MEM)
    admin_address(s)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def stubs(server):
    ch = grpc.insecure_channel(server.address)

    class S:
        sessions = session_pb2_grpc.SessionServiceStub(ch)
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
    yield S
    ch.close()


AUTH = (("authorization", "Bearer obs-key-123"),)


def scrape(server):
    status, ctype, body = http_get(server, "/metrics")
    assert status == 200 and ctype.startswith("text/plain")
    return body


def test_trace_id_from_traceparent(stubs):
    md = AUTH + (("traceparent", TRACEPARENT), ("tracestate", "vendor=1"))
    resp, call = stubs.sessions.CreateSession.with_call(session_pb2.CreateSessionRequest(node_id="n1"), metadata=md)
    assert dict(call.trailing_metadata())["x-trace-id"] == TRACE_ID
    with pytest.raises(grpc.RpcError) as e:
        stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id="session-missing"), metadata=md)
    info, _ = status_details(e.value)
    assert info.metadata["trace_id"] == TRACE_ID
    assert dict(e.value.trailing_metadata())["x-trace-id"] == TRACE_ID


def test_trace_id_generated_when_absent_or_malformed(stubs):
    ids = set()
    for md in [AUTH, AUTH + (("traceparent", "garbage"),), AUTH + (("traceparent", "00-" + "0" * 32 + "-00f067aa0ba902b7-01"),)]:
        _, call = stubs.sessions.CountSessions.with_call(session_pb2.CountSessionsRequest(), metadata=md)
        tid = dict(call.trailing_metadata())["x-trace-id"]
        assert len(tid) == 32 and tid != "0" * 32
        ids.add(tid)
    assert len(ids) == 3


def test_unauthenticated_errors_carry_the_trace_id(stubs, server):
    before = metric(scrape(server), "kato_auth_failures_total", reason="CREDENTIALS_MISSING")
    with pytest.raises(grpc.RpcError) as e:
        stubs.sessions.CountSessions(session_pb2.CountSessionsRequest(), metadata=(("traceparent", TRACEPARENT),))
    info, _ = status_details(e.value)
    assert info.metadata["trace_id"] == TRACE_ID
    assert metric(scrape(server), "kato_auth_failures_total", reason="CREDENTIALS_MISSING") == before + 1


def test_metrics_move_with_calls(stubs, server):
    labels = dict(grpc_type="unary", grpc_service="kato.v2.ObserveService", grpc_method="Observe")
    before = scrape(server)
    sid = stubs.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="m1"), metadata=AUTH).session_id
    for i in range(2):
        stubs.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"a{i}", "b"]), metadata=AUTH)
    with pytest.raises(grpc.RpcError):
        stubs.observe.Observe(observe_pb2.ObserveRequest(session_id="session-nope", strings=["x"]), metadata=AUTH)
    stubs.observe.Learn(observe_pb2.LearnRequest(session_id=sid), metadata=AUTH)
    after = scrape(server)
    d = lambda name, **kw: metric(after, name, **kw) - metric(before, name, **kw)
    assert d("grpc_server_started_total", **labels) == 3
    assert d("grpc_server_handled_total", grpc_code="OK", **labels) == 2
    assert d("grpc_server_handled_total", grpc_code="NotFound", **labels) == 1
    assert d("grpc_server_msg_received_total", **labels) == 3
    assert d("grpc_server_msg_sent_total", **labels) == 2
    assert d("grpc_server_handling_seconds_count", **labels) == 3
    assert d("kato_observations_total") == 2
    assert d("kato_patterns_learned_total") == 1
    assert d("kato_predictions_seconds_count") == 2
    assert metric(after, "kato_sessions_active") >= 1
    assert "# TYPE grpc_server_handling_seconds histogram" in after
    assert 'grpc_code="NotFound"' in after


def test_stream_messages_are_counted(stubs, server):
    labels = dict(grpc_type="bidi_stream", grpc_service="kato.v2.ObserveService", grpc_method="ObserveStream")
    before = scrape(server)
    reqs = (observe_pb2.ObserveRequest(node_id="streamed", strings=[f"s{i}"]) for i in range(5))
    assert len(list(stubs.observe.ObserveStream(reqs, metadata=AUTH))) == 5
    after = scrape(server)
    assert metric(after, "grpc_server_msg_received_total", **labels) - metric(before, "grpc_server_msg_received_total", **labels) == 5
    assert metric(after, "grpc_server_msg_sent_total", **labels) - metric(before, "grpc_server_msg_sent_total", **labels) == 5


def test_rate_limited_counter(stubs, server):
    before = metric(scrape(server), "kato_rate_limited_total", scope="session")
    sid = stubs.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="rl"), metadata=AUTH).session_id
    with pytest.raises(grpc.RpcError) as e:
        for _ in range(15):
            stubs.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["x"]), metadata=AUTH)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    after = scrape(server)
    assert metric(after, "kato_rate_limited_total", scope="session") == before + 1
    assert metric(after, "grpc_server_handled_total", grpc_method="Observe", grpc_code="ResourceExhausted") >= 1


def test_health_endpoints(server):
    status, ctype, body = http_get(server, "/health/live")
    assert status == 200 and ctype == "application/json" and json.loads(body)["status"] == "alive"
    status, _, body = http_get(server, "/health/startup")
    assert status == 200 and json.loads(body)["status"] == "started"
    status, _, body = http_get(server, "/health/ready")
    ready = json.loads(body)
    assert status == 200 and ready["status"] == "ready"
    assert ready["degradation_level"] == "NORMAL" and ready["degradation_level_value"] == 0
    assert ready["checks"]["grpc"] == "serving"
    assert http_get(server, "/nope")[0] == 404
    assert "kato_degradation_level 0" in scrape(server)


def test_access_log_line_per_call(binaries):
    s = start_kato_server(binaries, "--log-level", "info", env=MEM)
    try:
        with grpc.insecure_channel(s.address) as ch:
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="logged"), metadata=(("traceparent", TRACEPARENT),))
    finally:
        s.stop()
    lines = [l for l in s.proc.stderr.read().splitlines() if "call" in l and TRACE_ID in l]
    assert len(lines) == 1, lines
    line = lines[0]
    for part in ["method=/kato.v2.SessionService/CreateSession", "status=OK", "node_id=logged", "principal=", "protocol=grpc", "duration_ms=", "peer="]:
        assert part in line, (part, line)


def test_admin_port_flag_and_loopback_default(binaries):
    s = RunningServer([str(binaries / "kato-server"), "--port", "0", "--admin-port", "0", "--log-level", "warning"], env=MEM)
    try:
        host, port = admin_address(s).rsplit(":", 1)
        assert host == "127.0.0.1" and int(port) > 0
        assert http_get(s, "/health/live")[0] == 200
    finally:
        s.stop()


def test_subscribers_gauge_counts_open_subscriptions(stubs, server):
    """kato_subscribers_active: +1 while a SubscribePredictions stream is open, back when it ends
    (the soak test watches it return to 0 after its load)."""
    from kato_client._pb.kato.v2 import predict_pb2_grpc
    sid = stubs.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="subscribed"), metadata=AUTH).session_id
    before = metric(scrape(server), "kato_subscribers_active")
    ch = grpc.insecure_channel(server.address)
    stream = predict_pb2_grpc.PredictServiceStub(ch).SubscribePredictions(
        predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True), metadata=AUTH)
    next(stream)
    assert metric(scrape(server), "kato_subscribers_active") == before + 1
    stream.cancel()
    deadline = time.time() + 30
    while metric(scrape(server), "kato_subscribers_active") != before and time.time() < deadline:
        time.sleep(0.05)
    assert metric(scrape(server), "kato_subscribers_active") == before
    ch.close()
