"""GRPCH2 limits and malformed HTTP/2 (issue #2: a connection error, never a crash): the request
header list limit, huge header blocks, reserved `grpc-*` metadata, and kato-server's handler
execution modes. Raw HTTP/2 through `h2_raw` where a well-behaved client cannot send the input.

Each test name states the behaviour it checks; each one that provokes an error also checks that
the other calls (on the same connection, or on the same server when the connection must end)
still work."""
import struct
import time

import grpc
import pytest

from conftest import start_echo_server, start_kato_server, start_tls_echo_server
from echo_pb.grpch2.test import echo_pb2
from grpch2_support import echo_request_bytes, echo_stub, frame, start_delayed, unframe, wait_ready
from h2_raw import GOAWAY, SETTINGS, Connection

Req = echo_pb2.EchoRequest
UNARY = "/grpch2.test.Echo/Unary"
LIMIT = 16 * 1024
COMPRESSION_ERROR, ENHANCE_YOUR_CALM = 0x9, 0xB
# The fields `Connection.send_request` always sends, in RFC 9113 §6.5.2 accounting.
BASE_FIELDS = [(":method", "POST"), (":scheme", "http"), (":path", UNARY), (":authority", "localhost"),
               ("content-type", "application/grpc"), ("te", "trailers")]


def list_size(fields) -> int:
    return sum(len(n) + len(v) + 32 for n, v in fields)


def padding_for(total: int, name: str = "x-pad") -> list[tuple[str, str]]:
    """One extra field that brings the request's header list size to exactly `total`."""
    return [(name, "p" * (total - list_size(BASE_FIELDS) - len(name) - 32))]


def echo_body(message="hi", **kw) -> bytes:
    return frame(echo_request_bytes(message=message, **kw))


def reply(conn: Connection, sid: int) -> echo_pb2.EchoResponse:
    s = conn.streams[sid]
    assert s.trailers.get("grpc-status") == "0", s
    messages = unframe(s.data)
    assert len(messages) == 1
    return echo_pb2.EchoResponse.FromString(messages[0][1])


def assert_served(conn: Connection, message="after"):
    """A fresh call on `conn` succeeds: the connection still serves."""
    sid = conn.send_request(UNARY, echo_body(message))
    assert conn.wait_streams(sid), "no answer on the same connection"
    assert reply(conn, sid).message == message
    assert conn.goaway is None and not conn.closed


@pytest.fixture(scope="module")
def stub(echo_server):
    with grpc.insecure_channel(echo_server.address) as ch:
        wait_ready(ch)
        yield echo_stub(ch)


# MARK: request header list size (SETTINGS_MAX_HEADER_LIST_SIZE)

def test_grpcio_call_with_metadata_over_the_header_limit_fails_resource_exhausted_and_channel_serves_on(stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(message="big"), metadata=[("x-big", "a" * 20000)], timeout=30)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "header list size" in e.value.details() and "16384" in e.value.details()
    assert stub.Unary(Req(message="after"), timeout=30).message == "after"


def test_oversized_header_list_gets_trailers_only_resource_exhausted_on_its_stream_only(echo_server):
    conn = Connection(echo_server.port)
    try:
        ok1 = conn.send_request(UNARY, echo_body("before"))
        big = conn.send_request(UNARY, echo_body("big"), [("x-big", "a" * 20000)])
        ok2 = conn.send_request(UNARY, echo_body("next"))
        assert conn.wait_streams(ok1, big, ok2)
        s = conn.streams[big]
        assert len(s.header_blocks) == 1, "Trailers-Only: one HEADERS frame"
        assert s.headers[":status"] == "200" and s.headers["content-type"] == "application/grpc"
        assert s.headers["grpc-status"] == "8"  # RESOURCE_EXHAUSTED
        assert "exceeds the limit of 16384" in s.headers["grpc-message"]
        assert s.data == b"" and s.reset is None
        assert reply(conn, ok1).message == "before" and reply(conn, ok2).message == "next"
        assert_served(conn)
    finally:
        conn.close()


def test_header_list_of_exactly_the_limit_is_served_and_one_byte_more_is_refused(echo_server):
    conn = Connection(echo_server.port)
    try:
        at = conn.send_request(UNARY, echo_body("at"), padding_for(LIMIT))
        over = conn.send_request(UNARY, echo_body("over"), padding_for(LIMIT + 1))
        assert conn.wait_streams(at, over)
        assert reply(conn, at).message == "at"
        assert conn.streams[over].headers["grpc-status"] == "8"
        assert f"size {LIMIT + 1} exceeds" in conn.streams[over].headers["grpc-message"]
        assert_served(conn)
    finally:
        conn.close()


def test_header_list_over_the_limit_in_many_fields_and_continuation_frames_is_refused_per_stream(echo_server):
    conn = Connection(echo_server.port)
    try:
        fields = [(f"x-h{i}", "a" * 1000) for i in range(100)]  # ~100 KiB: HEADERS + 6 CONTINUATIONs
        big = conn.send_request(UNARY, echo_body("big"), fields)
        assert conn.wait_streams(big)
        assert conn.streams[big].headers["grpc-status"] == "8"
        assert_served(conn)
    finally:
        conn.close()


def test_oversized_headers_on_a_streaming_call_that_keeps_sending_refuse_only_that_call(echo_server):
    conn = Connection(echo_server.port)
    try:
        # No END_STREAM with the headers: the client goes on sending DATA after the refusal.
        big = conn.send_request("/grpch2.test.Echo/ClientStream", None, [("x-big", "a" * 20000)], end_stream=False)
        conn.send_data(big, echo_body("m1") * 50)
        assert conn.wait_streams(big)
        assert conn.streams[big].headers["grpc-status"] == "8"
        conn.send_data(big, echo_body("m2"), end_stream=True)
        assert_served(conn)
    finally:
        conn.close()


def test_configured_header_list_limit_is_advertised_and_enforced(binaries):
    server = start_echo_server(binaries, "--max-header-list-size", "32768")
    try:
        conn = Connection(server.port)
        try:
            assert conn.wait(lambda c: any(f.type == SETTINGS and f.payload for f in c.frames))
            settings = next(f.payload for f in conn.frames if f.type == SETTINGS and f.payload)
            advertised = dict(struct.unpack(">HI", settings[i:i + 6]) for i in range(0, len(settings), 6))
            assert advertised[0x6] == 32768  # SETTINGS_MAX_HEADER_LIST_SIZE
            ok = conn.send_request(UNARY, echo_body("20k"), [("x-big", "a" * 20000)])
            big = conn.send_request(UNARY, echo_body("40k"), [("x-big", "a" * 40000)])
            assert conn.wait_streams(ok, big)
            assert reply(conn, ok).message == "20k"
            assert conn.streams[big].headers["grpc-status"] == "8"
            assert_served(conn)
        finally:
            conn.close()
    finally:
        server.stop()


def test_default_header_list_limit_is_advertised_as_16_kib(echo_server):
    conn = Connection(echo_server.port)
    try:
        assert conn.wait(lambda c: any(f.type == SETTINGS and f.payload for f in c.frames))
        settings = next(f.payload for f in conn.frames if f.type == SETTINGS and f.payload)
        advertised = dict(struct.unpack(">HI", settings[i:i + 6]) for i in range(0, len(settings), 6))
        assert advertised[0x6] == LIMIT
    finally:
        conn.close()


# MARK: huge header blocks: connection errors by necessity, with a clean GOAWAY

def test_header_field_over_64_kib_ends_the_connection_with_compression_error_goaway_and_server_serves_on(echo_server, stub):
    conn = Connection(echo_server.port)
    try:
        # In flight when the error hits (its handler runs), and 10 s long: never done before it.
        slow = start_delayed(stub, lambda: conn.send_request(UNARY, echo_body("slow", delay_ms=10000)))
        conn.send_request(UNARY, echo_body("huge"), [("x-huge", "a" * 70000)])
        assert conn.wait(lambda c: c.goaway is not None and c.closed, timeout=10)
        last, code = conn.goaway
        assert code == COMPRESSION_ERROR
        assert last >= slow
        # The in-flight call is cancelled with the connection: never a success, never a hang.
        assert conn.streams[slow].trailers.get("grpc-status") != "0"
    finally:
        conn.close()
    assert echo_server.proc.poll() is None, "the server must survive"
    assert stub.Unary(Req(message="still"), timeout=30).message == "still"
    fresh = Connection(echo_server.port)
    try:
        assert_served(fresh)
    finally:
        fresh.close()


def test_header_value_of_64_kib_is_refused_per_stream_and_one_byte_more_is_a_connection_error(echo_server):
    # nghttp2 checks each name and value (as encoded; h2_raw sends no Huffman) against 65536.
    conn = Connection(echo_server.port)
    try:
        at = conn.send_request(UNARY, echo_body("at"), [("x-big", "a" * 65536)])
        pair = conn.send_request(UNARY, echo_body("pair"), [("x" * 40000, "a" * 40000)])
        assert conn.wait_streams(at, pair)
        assert conn.streams[at].headers["grpc-status"] == "8"
        assert conn.streams[pair].headers["grpc-status"] == "8"
        assert_served(conn)
        conn.send_request(UNARY, echo_body("over"), [("x-big", "a" * 65537)])
        assert conn.wait(lambda c: c.goaway is not None and c.closed, timeout=10)
        assert conn.goaway[1] == COMPRESSION_ERROR
    finally:
        conn.close()


def test_grpcio_calls_in_flight_on_a_connection_that_fails_end_unavailable_not_hung(echo_server):
    with grpc.insecure_channel(echo_server.address) as ch:
        wait_ready(ch)
        stub = echo_stub(ch)
        # On the wire and in its handler before the huge call (a call still queued in grpcio when the
        # connection fails is sent again on a new one), and 10 s long: never done before the failure.
        slow = start_delayed(stub, lambda: stub.Unary.future(Req(message="slow", delay_ms=10000), timeout=30))
        with pytest.raises(grpc.RpcError) as huge:
            stub.Unary(Req(message="huge"), metadata=[("x-huge", "a" * 70000)], timeout=30)
        assert huge.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(grpc.RpcError) as e:
            slow.result(timeout=30)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        assert stub.Unary(Req(message="reconnected"), timeout=30).message == "reconnected"


def test_continuation_flood_ends_the_connection_with_enhance_your_calm_goaway(echo_server, stub):
    conn = Connection(echo_server.port)
    try:
        fields = [(f"x-h{i}", "a" * 1000) for i in range(200)]  # ~200 KiB: 12 CONTINUATIONs (limit 8)
        conn.send_request(UNARY, echo_body("flood"), fields)
        assert conn.wait(lambda c: c.goaway is not None and c.closed, timeout=10)
        assert conn.goaway[1] == ENHANCE_YOUR_CALM
    finally:
        conn.close()
    assert echo_server.proc.poll() is None
    assert stub.Unary(Req(message="still"), timeout=30).message == "still"


def test_over_tls_the_header_limit_is_per_stream_and_connection_errors_still_send_goaway(binaries, tmp_path):
    server, tls = start_tls_echo_server(binaries, tmp_path)
    try:
        conn = Connection(server.port, tls=tls)
        try:
            big = conn.send_request(UNARY, echo_body("big"), [("x-big", "a" * 20000)])
            assert conn.wait_streams(big)
            assert conn.streams[big].headers["grpc-status"] == "8"
            assert_served(conn)
            conn.send_request(UNARY, echo_body("huge"), [("x-huge", "a" * 70000)])
            assert conn.wait(lambda c: c.goaway is not None and c.closed, timeout=10)
            assert conn.goaway[1] == COMPRESSION_ERROR
        finally:
            conn.close()
        fresh = Connection(server.port, tls=tls)
        try:
            assert_served(fresh)
        finally:
            fresh.close()
    finally:
        server.stop()


# MARK: reserved metadata

def test_custom_grpc_request_headers_are_not_visible_to_handlers(echo_server):
    conn = Connection(echo_server.port)
    try:
        sid = conn.send_request(UNARY, echo_body("__metadata__"), [
            ("grpc-custom", "x"), ("grpc-internal-bin", "AAAA"), ("grpc-status", "13"), ("x-user", "u"),
            ("grpc-trace-bin", "AQID"), ("grpc-previous-rpc-attempts", "1"), ("grpc-tags-bin", "AAE"),
        ])
        assert conn.wait_streams(sid)
        keys = reply(conn, sid).message.split(",")
        assert sorted(keys) == ["grpc-previous-rpc-attempts", "grpc-tags-bin", "grpc-trace-bin", "x-user"]
        assert_served(conn)
    finally:
        conn.close()


def test_grpcio_custom_metadata_reaches_handlers_but_reserved_grpc_names_do_not(stub):
    reply_ = stub.Unary(Req(message="__metadata__"), metadata=[("x-user", "u"), ("echo-k", "v")], timeout=30)
    assert "x-user" in reply_.message.split(",") and "echo-k" in reply_.message.split(",")
    assert not [k for k in reply_.message.split(",") if k.startswith("grpc-") and k != "grpc-previous-rpc-attempts"]


def test_handler_cannot_send_reserved_or_pseudo_headers_in_metadata_or_trailers(echo_server):
    conn = Connection(echo_server.port)
    try:
        sid = conn.send_request(UNARY, echo_body("__reserved__"))
        assert conn.wait_streams(sid)
        s = conn.streams[sid]
        assert len(s.header_blocks) == 2
        for block in s.header_blocks:
            names = [n for n, _ in block]
            assert "forged" not in [v for _, v in block], block
            assert not {"connection", "te", "grpc-custom", "grpc-message"} & set(names), block
            assert names.count(":status") <= 1 and names.count("content-type") <= 1
        assert s.headers[":status"] == "200" and s.headers["content-type"] == "application/grpc"
        assert s.headers["x-allowed"] == "kept"
        assert s.trailers["grpc-status"] == "0" and s.trailers["x-allowed"] == "kept"
        assert s.trailers["grpc-retry-pushback-ms"] == "250"  # gRPC-defined for servers to send
        assert [n for n, _ in s.trailers.items()].count("grpc-status") == 1
        assert reply(conn, sid).message == "__reserved__"
        assert_served(conn)
    finally:
        conn.close()


def test_grpcio_sees_ok_and_only_the_allowed_metadata_when_a_handler_sends_reserved_names(stub):
    response, call = stub.Unary.with_call(Req(message="__reserved__"), timeout=30)
    assert call.code() == grpc.StatusCode.OK and response.message == "__reserved__"
    initial, trailing = dict(call.initial_metadata()), dict(call.trailing_metadata())
    assert initial.get("x-allowed") == "kept" and trailing.get("x-allowed") == "kept"
    assert "forged" not in initial.values() and "forged" not in trailing.values()


# MARK: kato-server --handler-execution

@pytest.fixture(scope="module")
def kato_pool(binaries):
    server = start_kato_server(binaries, "--handler-execution", "pool")
    yield server
    server.stop()


def test_kato_server_in_pool_mode_serves_unary_and_streaming_calls(kato_pool):
    from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc
    with grpc.insecure_channel(kato_pool.address) as ch:
        sessions = session_pb2_grpc.SessionServiceStub(ch)
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
        s = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="pool-mode"), timeout=10)
        assert s.session_id
        ack = observe.Observe(observe_pb2.ObserveRequest(session_id=s.session_id, strings=["a"]), timeout=10)
        assert ack.stm_length == 1
        requests = [observe_pb2.ObserveRequest(session_id=s.session_id, strings=[f"s{i}"], unique_id=f"u{i}")
                    for i in range(20)]
        acks = list(observe.ObserveStream(iter(requests), timeout=10))
        assert [a.unique_id for a in acks] == [f"u{i}" for i in range(20)]
        assert [a.stm_length for a in acks] == list(range(2, 22))


def test_kato_server_takes_handler_execution_from_the_environment(binaries):
    server = start_kato_server(binaries, env={"KATO_HANDLER_EXECUTION": "pool"})
    try:
        from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc
        with grpc.insecure_channel(server.address) as ch:
            stub = session_pb2_grpc.SessionServiceStub(ch)
            assert stub.CreateSession(session_pb2.CreateSessionRequest(node_id="env-pool"), timeout=10).session_id
    finally:
        server.stop()


def test_kato_server_takes_handler_execution_from_the_config_file(binaries, tmp_path):
    config = tmp_path / "kato.json"
    config.write_text('{"handler_execution": "pool"}')
    server = start_kato_server(binaries, "--config", str(config))
    try:
        from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc
        with grpc.insecure_channel(server.address) as ch:
            stub = session_pb2_grpc.SessionServiceStub(ch)
            assert stub.CreateSession(session_pb2.CreateSessionRequest(node_id="file-pool"), timeout=10).session_id
    finally:
        server.stop()
    bad = tmp_path / "bad.json"
    bad.write_text('{"handler_execution": "threads"}')
    with pytest.raises(RuntimeError, match="handler-execution must be event-loop or pool"):
        start_kato_server(binaries, "--config", str(bad))


def test_kato_server_rejects_an_unknown_handler_execution(binaries):
    with pytest.raises(RuntimeError, match="handler-execution must be event-loop or pool"):
        start_kato_server(binaries, "--handler-execution", "threads")


# MARK: kato-server --subscription-write-delay-ms

def test_kato_server_with_a_subscription_write_delay_delivers_every_update_in_order_within_it(binaries):
    """Updates published in a burst wait for the connection's next write, at most the delay: the
    first (an idle connection) goes at once, the rest together no sooner than the delay after it."""
    import queue, threading, time
    from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc
    server = start_kato_server(binaries, "--subscription-write-delay-ms", "100")
    try:
        with grpc.insecure_channel(server.address) as ch, grpc.insecure_channel(server.address) as other:
            sid = session_pb2_grpc.SessionServiceStub(ch).CreateSession(
                session_pb2.CreateSessionRequest(node_id="write-delay"), timeout=10).session_id
            call = predict_pb2_grpc.PredictServiceStub(ch).SubscribePredictions(
                predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True))
            updates = queue.Queue()

            def reader():
                try:
                    for u in call:
                        updates.put((time.monotonic(), u))
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.CANCELLED  # the test's own cancel at the end

            threading.Thread(target=reader, daemon=True).start()
            _, initial = updates.get(timeout=10)
            assert initial.cause == predict_pb2.UPDATE_CAUSE_INITIAL
            time.sleep(0.3)  # the connection is idle again: more than the delay since its last write
            observe = observe_pb2_grpc.ObserveServiceStub(other)
            sent = time.monotonic()
            for w in ("a", "b", "c", "d"):
                observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[w]), timeout=10)
            got = [updates.get(timeout=10) for _ in range(4)]
            call.cancel()
        assert [u.sequence for _, u in got] == list(range(initial.sequence + 1, initial.sequence + 5))
        assert [[list(e.symbols) for e in u.stm][-1] for _, u in got] == [["a"], ["b"], ["c"], ["d"]]
        # The second and later updates were published after the first one was taken and written
        # (at or after `sent`): they wait for the delay since that write.
        assert got[-1][0] - sent >= 0.1
    finally:
        server.stop()


@pytest.mark.parametrize("value", ["101", "1000"])
def test_kato_server_rejects_a_subscription_write_delay_out_of_range(binaries, value):
    with pytest.raises(RuntimeError, match="subscription-write-delay-ms must be 0…100 milliseconds"):
        start_kato_server(binaries, "--subscription-write-delay-ms", value)

