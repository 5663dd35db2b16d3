"""OTLP span export (OTLP/HTTP, JSON encoding) against a real kato-server and a stand-in collector:
off by default; with --otlp-endpoint (or KATO_OTLP_ENDPOINT / the config file) each call's span
reaches POST /v1/traces with the client's trace id and parent span id, the method as its name,
and status, session and node attributes; spans are flushed on shutdown; a missing or hung
collector never affects calls (spans are dropped and counted)."""
import json
import re
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import start_kato_server
from otlp_support import BlackHole, Collector, attributes, free_port_url
from security_support import MEM, http_get, metric

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


@pytest.fixture
def collector():
    c = Collector()
    yield c
    c.close()


def stubs(server):
    ch = grpc.insecure_channel(server.address)
    return ch, session_pb2_grpc.SessionServiceStub(ch), observe_pb2_grpc.ObserveServiceStub(ch)


@pytest.fixture
def exporting(binaries, collector):
    server = start_kato_server(binaries, "--otlp-endpoint", collector.url, "--otlp-flush-interval-ms", "100",
                               "--otlp-service-name", "kato-under-test", "--log-level", "info", env=MEM)
    ch, sessions, observe = stubs(server)
    yield server, sessions, observe
    ch.close()
    server.stop()


def test_span_carries_the_callers_trace_and_the_call(exporting, collector):
    _, sessions, observe = exporting
    md = (("traceparent", TRACEPARENT), ("tracestate", "vendor=abc"))
    sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="node-7"), metadata=md).session_id
    observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["a", "b"]), metadata=md)

    span = collector.wait_for(lambda s: s["name"] == "kato.v2.ObserveService/Observe")
    assert span["traceId"] == TRACE_ID
    assert span["parentSpanId"] == PARENT_ID
    assert re.fullmatch(r"[0-9a-f]{16}", span["spanId"]) and span["spanId"] != PARENT_ID
    assert span["traceState"] == "vendor=abc"
    assert span["kind"] == 2  # SPAN_KIND_SERVER
    start, end = int(span["startTimeUnixNano"]), int(span["endTimeUnixNano"])
    assert isinstance(span["startTimeUnixNano"], str) and 0 < start <= end
    assert abs(start / 1e9 - time.time()) < 60
    attrs = attributes(span)
    assert attrs["rpc.system"] == "grpc"
    assert attrs["rpc.service"] == "kato.v2.ObserveService" and attrs["rpc.method"] == "Observe"
    assert attrs["rpc.grpc.status_code"] == 0
    assert attrs["kato.session_id"] == sid and attrs["kato.node_id"] == "node-7"
    assert attrs["kato.trace_id"] == TRACE_ID
    assert span.get("status", {}).get("code", 0) != 2
    assert attributes(span["_resource"])["service.name"] == "kato-under-test"

    create = collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/CreateSession")
    assert create["traceId"] == TRACE_ID and attributes(create)["kato.session_id"] == sid
    path, headers, _ = collector.requests[0]
    assert path == "/v1/traces"
    assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/json"


def test_failed_call_has_error_status_and_code(exporting, collector):
    _, sessions, _ = exporting
    with pytest.raises(grpc.RpcError) as e:
        sessions.GetSession(session_pb2.GetSessionRequest(session_id="session-missing"),
                            metadata=(("traceparent", TRACEPARENT),))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    span = collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/GetSession")
    assert span["status"]["code"] == 2 and span["status"]["message"] == "NOT_FOUND"
    assert attributes(span)["rpc.grpc.status_code"] == 5
    assert [ev["name"] for ev in span["events"]] == ["exception"]


def test_without_traceparent_the_span_has_the_returned_trace_id(exporting, collector):
    _, sessions, _ = exporting
    _, call = sessions.CountSessions.with_call(session_pb2.CountSessionsRequest())
    trace_id = dict(call.trailing_metadata())["x-trace-id"]
    span = collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/CountSessions")
    assert span["traceId"] == trace_id
    assert "parentSpanId" not in span


def test_unsampled_traces_are_not_exported(exporting, collector):
    _, sessions, _ = exporting
    unsampled = f"00-{'1' * 32}-{PARENT_ID}-00"
    sessions.CountSessions(session_pb2.CountSessionsRequest(), metadata=(("traceparent", unsampled),))
    sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="marker"), metadata=(("traceparent", TRACEPARENT),))
    collector.wait_for(lambda s: s["traceId"] == TRACE_ID and s["name"].endswith("CountSessions"))
    assert not [s for s in collector.spans() if s["traceId"] == "1" * 32]


def test_no_endpoint_sends_nothing(binaries, collector):
    server = start_kato_server(binaries, "--log-level", "info", env=MEM)
    ch, sessions, _ = stubs(server)
    sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1"), metadata=(("traceparent", TRACEPARENT),))
    ch.close()
    time.sleep(0.5)
    server.stop()
    assert collector.requests == []
    assert "OTLP" not in server.proc.stderr.read()


def test_endpoint_from_environment_and_config_file(binaries, collector, tmp_path):
    config = tmp_path / "kato.json"
    config.write_text(json.dumps({"otlp_endpoint": collector.url, "otlp_flush_interval_ms": 100}))
    for extra, env in ((("--config", str(config)), MEM), ((), {**MEM, "KATO_OTLP_ENDPOINT": collector.url,
                                                                 "KATO_OTLP_FLUSH_INTERVAL_MS": "100"})):
        server = start_kato_server(binaries, *extra, env=env)
        ch, sessions, _ = stubs(server)
        node = f"node-{len(collector.spans())}-{time.time_ns()}"
        sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node))
        collector.wait_for(lambda s: attributes(s).get("kato.node_id") == node)
        ch.close()
        server.stop()


def test_queued_spans_are_sent_on_graceful_shutdown(binaries, collector):
    server = start_kato_server(binaries, "--otlp-endpoint", collector.url, "--otlp-flush-interval-ms", "600000", env=MEM)
    ch, sessions, _ = stubs(server)
    sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="at-shutdown"), metadata=(("traceparent", TRACEPARENT),))
    ch.close()
    time.sleep(0.3)
    assert collector.requests == []  # the flush interval has not passed
    assert server.stop() == 0
    # The server has exited: whatever it sent, it sent at shutdown (the budget is for the collector's thread).
    span = collector.wait_for(lambda s: attributes(s).get("kato.node_id") == "at-shutdown")
    assert span["traceId"] == TRACE_ID


def test_unreachable_collector_never_affects_calls(binaries):
    server = start_kato_server(binaries, "--otlp-endpoint", free_port_url(), "--otlp-flush-interval-ms", "50",
                               "--log-level", "info", env=MEM)
    ch, sessions, _ = stubs(server)
    for _ in range(20):
        assert sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1")).session_id
        time.sleep(0.02)
    deadline = time.time() + 30  # a budget for a loaded machine
    while metric(http_get(server, "/metrics")[2], "kato_otlp_spans_dropped_total", reason="export_failed") < 20:
        assert time.time() < deadline
        time.sleep(0.1)
    ch.close()
    assert server.stop() == 0
    log = server.proc.stderr.read()
    # Rate-limited: one warning for many failed exports.
    assert log.count("OTLP span export failed") == 1, log


def test_full_queue_drops_and_counts_without_blocking(binaries):
    hole = BlackHole()  # the first export hangs until its timeout; the queue (2 spans) fills up
    server = start_kato_server(binaries, "--otlp-endpoint", hole.url, "--otlp-queue-size", "2", env=MEM)
    ch, sessions, _ = stubs(server)
    started = time.time()
    for _ in range(30):
        sessions.CountSessions(session_pb2.CountSessionsRequest(), timeout=2)
    assert time.time() - started < 5
    assert metric(http_get(server, "/metrics")[2], "kato_otlp_spans_dropped_total", reason="queue_full") >= 25
    ch.close()
    # Shutdown waits for the hung export at most its timeout (5 s), then gives up.
    started = time.time()
    assert server.stop() == 0
    assert time.time() - started < 10
    hole.close()


def test_invalid_endpoint_is_refused_at_startup(binaries):
    for bad in ("collector:4318", "grpc://collector:4317", "http://collector:notaport"):
        with pytest.raises(RuntimeError, match="OTLP endpoint"):
            start_kato_server(binaries, "--otlp-endpoint", bad, env=MEM)


def test_opentelemetry_environment_variables_configure_export(binaries, collector):
    # Without kato's own setting, the standard OTEL_* variables: the base endpoint gets /v1/traces.
    env = {**MEM, "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url + "/", "OTEL_SERVICE_NAME": "from-otel-env",
           "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    server = start_kato_server(binaries, "--otlp-flush-interval-ms", "100", env=env)
    ch, sessions, _ = stubs(server)
    try:
        sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n"))
        span = collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/CreateSession")
        assert attributes(span["_resource"])["service.name"] == "from-otel-env"
        assert collector.requests[0][0] == "/v1/traces"
    finally:
        ch.close()
        server.stop()


def test_kato_setting_wins_over_opentelemetry_variables_and_none_turns_export_off(binaries, collector):
    other = Collector()
    try:
        env = {**MEM, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": other.url + "/v1/traces"}
        server = start_kato_server(binaries, "--otlp-endpoint", collector.url, "--otlp-flush-interval-ms", "100", env=env)
        ch, sessions, _ = stubs(server)
        sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n"))
        collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/CreateSession")
        ch.close()
        server.stop()
        assert other.requests == []

        env = {**MEM, "OTEL_EXPORTER_OTLP_ENDPOINT": other.url, "OTEL_TRACES_EXPORTER": "none"}
        server = start_kato_server(binaries, "--otlp-flush-interval-ms", "100", env=env)
        ch, sessions, _ = stubs(server)
        sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n"))
        ch.close()
        server.stop()  # a shutdown flushes queued spans: none may arrive
        assert other.requests == []
    finally:
        other.close()


def test_opentelemetry_grpc_protocol_is_refused_at_startup(binaries):
    env = {**MEM, "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    with pytest.raises(RuntimeError, match="OTEL_EXPORTER_OTLP_PROTOCOL grpc is not supported"):
        start_kato_server(binaries, env=env)


@pytest.fixture(scope="module")
def collector_pki(tmp_path_factory):
    from mtls_support import PKI
    return PKI(tmp_path_factory.mktemp("otlp-tls"))  # a CA and a server certificate for localhost


def test_https_collector_with_its_ca_gets_spans_and_the_configured_headers(binaries, collector_pki):
    tls_collector = Collector(tls=(collector_pki.server_pem, collector_pki.server_key))
    env = {**MEM, "OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=secret%20value, x-tenant = t1"}
    server = start_kato_server(binaries, "--otlp-endpoint", tls_collector.url, "--otlp-certificate",
                               str(collector_pki.ca), "--otlp-flush-interval-ms", "100", "--log-level", "info", env=env)
    ch, sessions, _ = stubs(server)
    try:
        sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n"))
        tls_collector.wait_for(lambda s: s["name"] == "kato.v2.SessionService/CreateSession")
        headers = {k.lower(): v for k, v in tls_collector.requests[0][1].items()}
        assert headers["x-api-key"] == "secret value" and headers["x-tenant"] == "t1"
    finally:
        ch.close()
        server.stop()
        tls_collector.close()
    log = server.stderr_text()
    assert "OTLP span export on" in log and "x-api-key" in log
    assert "secret" not in log  # header values are never logged


def test_https_collector_with_an_untrusted_certificate_gets_nothing_and_calls_still_work(binaries, collector_pki):
    tls_collector = Collector(tls=(collector_pki.server_pem, collector_pki.server_key))
    # No --otlp-certificate: the system roots do not know the test CA.
    server = start_kato_server(binaries, "--otlp-endpoint", tls_collector.url, "--otlp-flush-interval-ms", "100",
                               "--admin-port", "0", env=MEM)
    ch, sessions, _ = stubs(server)
    try:
        for _ in range(3):
            sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n"))
        deadline = time.time() + 30  # a budget for a loaded machine
        while metric(http_get(server, "/metrics")[2], "kato_otlp_spans_dropped_total", reason="export_failed") < 3:
            assert time.time() < deadline, "the failed exports were not counted"
            time.sleep(0.1)
        assert tls_collector.requests == []  # the handshake failed: nothing was posted
    finally:
        ch.close()
        server.stop()
        tls_collector.close()


def test_unreadable_collector_ca_is_refused_at_startup(binaries, tmp_path):
    with pytest.raises(RuntimeError, match="cannot set up TLS"):
        start_kato_server(binaries, "--otlp-endpoint", "https://localhost:4318", "--otlp-certificate",
                          str(tmp_path / "missing.pem"), env=MEM)


def test_malformed_otlp_headers_are_refused_without_echoing_values(binaries):
    with pytest.raises(RuntimeError) as e:
        start_kato_server(binaries, "--otlp-endpoint", "http://127.0.0.1:4318", env={**MEM, "KATO_OTLP_HEADERS": "justsecret"})
    assert "not name=value" in str(e.value) and "justsecret" not in str(e.value).split("exited:")[1]
