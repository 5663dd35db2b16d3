"""GRPCH2 against real peers: Python grpcio and raw HTTP/2 (`nghttp`) talk to grpch2-echo-server.

Each test name states the behaviour it checks."""
import gzip
import queue
import socket
import threading
import time

import grpc
import pytest

from conftest import start_echo_server
from echo_pb.grpch2.test import echo_pb2
from grpch2_support import (ECHO, echo_request_bytes, echo_stub, frame, nghttp, start_delayed, stats, wait_ready,
                            wait_until)

Req = echo_pb2.EchoRequest
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def channel(echo_server):
    ch = grpc.insecure_channel(echo_server.address, options=[
        ("grpc.max_receive_message_length", 64 * MiB), ("grpc.max_send_message_length", 64 * MiB)])
    wait_ready(ch)
    yield ch
    ch.close()


@pytest.fixture(scope="module")
def stub(channel):
    return echo_stub(channel)


def code_of(excinfo) -> grpc.StatusCode:
    return excinfo.value.code()


# MARK: the four call kinds over h2c

def test_unary_call_echoes_message_and_payload(stub):
    reply = stub.Unary(Req(message="hello", payload=b"\x00\x01\xff"), timeout=30)
    assert (reply.message, reply.payload, reply.index) == ("hello", b"\x00\x01\xff", 0)


def test_empty_unary_request_is_a_valid_message(stub):
    assert stub.Unary(Req(), timeout=30) == echo_pb2.EchoResponse()


def test_server_stream_sends_count_responses_in_order(stub):
    replies = list(stub.ServerStream(Req(message="s", count=100), timeout=10))
    assert [r.index for r in replies] == list(range(100))
    assert all(r.message == "s" for r in replies)


def test_client_stream_receives_every_request_in_order(stub):
    reply = stub.ClientStream(iter([Req(message=str(i), payload=bytes([i])) for i in range(50)]), timeout=10)
    assert reply.message == ",".join(str(i) for i in range(50))
    assert reply.payload == bytes(range(50))
    assert reply.index == 50


def test_client_stream_with_no_messages_answers_once(stub):
    reply = stub.ClientStream(iter([]), timeout=30)
    assert (reply.message, reply.index) == ("", 0)


def test_bidi_stream_answers_each_request_before_the_client_half_closes(stub):
    outbox: queue.Queue = queue.Queue()

    def requests():
        while (item := outbox.get()) is not None:
            yield item

    call = stub.BidiStream(requests(), timeout=10)
    for i in range(20):
        outbox.put(Req(message=f"ping {i}"))
        reply = next(call)  # the answer arrives while the request stream is still open
        assert (reply.message, reply.index) == (f"ping {i}", i)
    outbox.put(None)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


def test_bidi_stream_with_no_messages_ends_ok(stub):
    call = stub.BidiStream(iter([]), timeout=30)
    assert list(call) == []
    assert call.code() == grpc.StatusCode.OK


# MARK: size and concurrency

def test_3_mib_unary_round_trip_spans_many_data_frames(stub):
    payload = bytes(range(256)) * (3 * MiB // 256)
    reply = stub.Unary(Req(payload=payload), timeout=20)
    assert reply.payload == payload


def test_large_messages_in_both_streaming_directions(stub):
    chunk = b"\xab" * MiB
    reply = stub.ClientStream(iter([Req(payload=chunk)] * 3), timeout=20)
    assert reply.payload == chunk * 3
    replies = list(stub.ServerStream(Req(payload=chunk, count=3), timeout=20))
    assert [len(r.payload) for r in replies] == [MiB] * 3
    replies = list(stub.BidiStream(iter([Req(payload=chunk * 2)] * 2), timeout=20))
    assert [r.payload == chunk * 2 for r in replies] == [True, True]


def test_200_concurrent_calls_on_one_channel_all_succeed(stub):
    futures = [stub.Unary.future(Req(message=f"m{i}", delay_ms=50), timeout=20) for i in range(200)]
    assert [f.result().message for f in futures] == [f"m{i}" for i in range(200)]


def test_concurrent_streams_of_every_kind_do_not_mix(stub):
    server_streams = [stub.ServerStream(Req(message=f"s{i}", count=20), timeout=20) for i in range(20)]
    bidis = [stub.BidiStream(iter([Req(message=f"b{i}")] * 10), timeout=20) for i in range(20)]
    for i, call in enumerate(server_streams):
        assert [r.message for r in call] == [f"s{i}"] * 20
    for i, call in enumerate(bidis):
        assert [(r.message, r.index) for r in call] == [(f"b{i}", k) for k in range(10)]


def test_calls_beyond_max_concurrent_streams_wait_for_a_free_stream(binaries):
    # The server advertises SETTINGS_MAX_CONCURRENT_STREAMS=2: grpcio queues the rest, and
    # each finished call frees a slot (streams are really released on close).
    server = start_echo_server(binaries, "--max-concurrent-streams", "2")
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = echo_stub(ch)
            start = time.monotonic()
            futures = [stub.Unary.future(Req(message=str(i), delay_ms=200), timeout=20) for i in range(10)]
            assert [f.result().message for f in futures] == [str(i) for i in range(10)]
            assert time.monotonic() - start >= 0.9  # 5 rounds of 2 x 200 ms
    finally:
        server.stop()


# MARK: deadlines

def test_deadline_exceeded_ends_a_slow_unary_call(stub):
    start = time.monotonic()
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(delay_ms=10000), timeout=0.3)
    assert code_of(e) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert time.monotonic() - start < 5  # the deadline ended it, not the handler's 10 s


def test_deadline_exceeded_ends_a_server_stream_after_partial_output(stub):
    # The first reply after 0.4 s, the tenth after 4 s: a 2 s deadline falls between them with 1.6 s
    # of margin for a loaded machine on either side.
    call = stub.ServerStream(Req(message="x", count=10, delay_ms=400), timeout=2)
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for r in call:
            got.append(r.index)
    assert code_of(e) == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 1 <= len(got) < 10


def test_deadline_exceeded_ends_a_bidi_stream(stub):
    call = stub.BidiStream(iter([Req(delay_ms=100)] * 30), timeout=0.5)
    with pytest.raises(grpc.RpcError) as e:
        list(call)
    assert code_of(e) == grpc.StatusCode.DEADLINE_EXCEEDED


def test_deadline_cancels_the_handler(stub):
    _, cancelled = stats(stub)
    with pytest.raises(grpc.RpcError):
        stub.Unary(Req(delay_ms=5000), timeout=0.2)
    assert wait_until(lambda: stats(stub)[1] > cancelled), "the handler never saw the cancellation"


def test_server_enforces_the_deadline_itself(echo_server, tmp_path):
    # nghttp does not enforce grpc-timeout: the DEADLINE_EXCEEDED comes from the server.
    start = time.monotonic()
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes(delay_ms=10000)),
               {"grpc-timeout": "300m"}, tmp_path)
    elapsed = time.monotonic() - start
    assert r.grpc_status == 4, r.output
    assert r.headers[":status"] == "200"
    assert elapsed < 6  # the 300 ms deadline ended it, not the handler's 10 s


@pytest.mark.parametrize("timeout,delay_ms,expected", [
    ("1n", 500, 4), ("1u", 500, 4), ("1m", 500, 4), ("200m", 2000, 4), ("1S", 3000, 4),
    ("1M", 20, 0), ("1H", 20, 0), ("99999999S", 20, 0), ("99999999H", 20, 0), ("0m", 200, 4),
])
def test_grpc_timeout_units_are_understood(echo_server, tmp_path, timeout, delay_ms, expected):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes(delay_ms=delay_ms)),
               {"grpc-timeout": timeout}, tmp_path)
    assert r.grpc_status == expected, r.output


@pytest.mark.parametrize("timeout", ["abc", "10", "S", "123456789S", "10x", "-1S", "1.5S"])
def test_malformed_grpc_timeout_is_rejected(echo_server, tmp_path, timeout):
    # grpc-go answers INTERNAL ("malformed time-out"); so does GRPCH2.
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes()), {"grpc-timeout": timeout}, tmp_path)
    assert r.grpc_status == 13, r.output
    assert "grpc-timeout" in r.trailers.get("grpc-message", ""), r.output


# MARK: cancellation

def test_client_cancel_cancels_the_handler(stub):
    _, cancelled = stats(stub)
    # The handler runs: a cancel before the call reached the server would cancel no handler.
    future = start_delayed(stub, lambda: stub.Unary.future(Req(delay_ms=10000), timeout=30))
    assert future.cancel()
    assert wait_until(lambda: stats(stub)[1] > cancelled), "the handler never saw the cancellation"


def test_client_cancel_of_a_server_stream_cancels_the_handler(stub):
    _, cancelled = stats(stub)
    call = stub.ServerStream(Req(count=1000, delay_ms=50), timeout=30)
    next(call)
    call.cancel()
    assert wait_until(lambda: stats(stub)[1] > cancelled)


# MARK: metadata

def test_ascii_and_binary_metadata_round_trip_in_headers_and_trailers(stub):
    binary = bytes(range(256))
    reply, call = stub.Unary.with_call(Req(message="m"), timeout=30, metadata=[
        ("echo-text", "hello world"), ("echo-data-bin", binary), ("echo-one-bin", b"\x00"),
        ("not-echoed", "x")])
    assert reply.message == "m"
    initial = call.initial_metadata()
    trailing = call.trailing_metadata()
    assert ("echo-text", "hello world") in initial
    assert ("echo-data-bin", binary) in initial
    assert ("echo-one-bin", b"\x00") in initial
    assert ("trailer-echo-text", "hello world") in trailing
    assert ("trailer-echo-data-bin", binary) in trailing
    assert not any(k == "not-echoed" for k, _ in initial)


def test_repeated_metadata_keys_keep_every_value_in_order(stub):
    _, call = stub.Unary.with_call(Req(), timeout=30, metadata=[("echo-k", "1"), ("echo-k", "2"), ("echo-k", "3")])
    assert [v for k, v in call.initial_metadata() if k == "echo-k"] == ["1", "2", "3"]


def test_metadata_round_trips_on_streaming_calls(stub):
    call = stub.ServerStream(Req(count=2), timeout=30, metadata=[("echo-s", "v"), ("echo-s-bin", b"\x01\x02")])
    assert len(list(call)) == 2
    assert ("echo-s", "v") in call.initial_metadata()
    assert ("trailer-echo-s-bin", b"\x01\x02") in call.trailing_metadata()
    reply, call = stub.ClientStream.with_call(iter([Req()]), timeout=30, metadata=[("echo-c", "w")])
    assert ("echo-c", "w") in call.initial_metadata()
    assert ("trailer-echo-c", "w") in call.trailing_metadata()


def test_trailing_metadata_accompanies_an_error_status(stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(fail_code=9, fail_message="nope"), timeout=30, metadata=[("echo-x", "1")])
    assert code_of(e) == grpc.StatusCode.FAILED_PRECONDITION
    assert e.value.details() == "nope"


# MARK: compression

def test_gzip_request_is_accepted_and_answered(stub):
    payload = b"compress me " * 10000
    reply = stub.Unary(Req(payload=payload), timeout=10, compression=grpc.Compression.Gzip)
    assert reply.payload == payload
    replies = list(stub.BidiStream(iter([Req(payload=payload)] * 3), timeout=10, compression=grpc.Compression.Gzip))
    assert [r.payload == payload for r in replies] == [True] * 3


def test_gzip_request_gets_a_gzip_response(echo_server, tmp_path):
    body = frame(gzip.compress(echo_request_bytes(message="zipped", payload=b"a" * 1000)), compressed=True)
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", body,
               {"grpc-encoding": "gzip", "grpc-accept-encoding": "gzip"}, tmp_path)
    assert r.grpc_status == 0, r.output
    assert r.headers.get("grpc-encoding") == "gzip", r.output


def test_gzip_request_from_a_client_that_does_not_accept_gzip_gets_identity(echo_server, tmp_path):
    body = frame(gzip.compress(echo_request_bytes(message="zipped")), compressed=True)
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", body, {"grpc-encoding": "gzip"}, tmp_path)
    assert r.grpc_status == 0, r.output
    assert "grpc-encoding" not in r.headers, r.output


def test_compressed_flag_without_grpc_encoding_is_an_internal_error(echo_server, tmp_path):
    body = frame(gzip.compress(echo_request_bytes(message="zipped")), compressed=True)
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", body, {}, tmp_path)
    assert r.grpc_status == 13, r.output


def test_unsupported_grpc_encoding_is_unimplemented(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes()), {"grpc-encoding": "snappy"}, tmp_path)
    assert r.grpc_status == 12, r.output
    assert "snappy" in r.trailers.get("grpc-message", "")
    # The spec asks the server to say what it accepts.
    assert "gzip" in r.trailers.get("grpc-accept-encoding", ""), r.output


def test_corrupt_gzip_message_is_an_internal_error(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(b"\x1f\x8b not gzip at all", compressed=True),
               {"grpc-encoding": "gzip"}, tmp_path)
    assert r.grpc_status == 13, r.output


# MARK: limits

def test_message_over_the_default_4_mib_limit_is_resource_exhausted(stub):
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(payload=b"x" * (4 * MiB + 1)), timeout=20)
    assert code_of(e) == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert stub.Unary(Req(message="still serving"), timeout=30).message == "still serving"


def test_message_just_under_the_default_limit_is_accepted(stub):
    reply = stub.Unary(Req(payload=b"y" * (4 * MiB - 64)), timeout=20)
    assert len(reply.payload) == 4 * MiB - 64


@pytest.fixture(scope="module")
def small_limit_server(binaries):
    server = start_echo_server(binaries, "--max-receive-size", "1024")
    yield server
    server.stop()


def test_max_receive_size_option_limits_every_call_kind(small_limit_server):
    with grpc.insecure_channel(small_limit_server.address) as ch:
        stub = echo_stub(ch)
        assert stub.Unary(Req(payload=b"a" * 900), timeout=30).payload == b"a" * 900
        for call in (lambda r: stub.Unary(r, timeout=30),
                     lambda r: list(stub.ServerStream(r, timeout=30)),
                     lambda r: stub.ClientStream(iter([Req(), r]), timeout=30),
                     lambda r: list(stub.BidiStream(iter([Req(), r]), timeout=30))):
            with pytest.raises(grpc.RpcError) as e:
                call(Req(payload=b"a" * 2000))
            assert code_of(e) == grpc.StatusCode.RESOURCE_EXHAUSTED, e.value.details()
        assert stub.Unary(Req(message="after"), timeout=30).message == "after"


def test_decompressed_size_is_limited_too(small_limit_server):
    # 100 KB of zeros gzip to ~100 bytes: under the limit on the wire, far over it inflated.
    with grpc.insecure_channel(small_limit_server.address) as ch:
        with pytest.raises(grpc.RpcError) as e:
            echo_stub(ch).Unary(Req(payload=bytes(100_000)), timeout=30, compression=grpc.Compression.Gzip)
        assert code_of(e) == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_streams_ended_before_their_requests_were_read_return_flow_control_credit(echo_server):
    # A handler that fails while request messages are still queued for it never reads them;
    # their bytes must still be credited back to the connection window (16 MiB), or after a
    # few such calls the peer may send nothing more on the whole connection.
    with grpc.insecure_channel(echo_server.address) as ch:
        stub = echo_stub(ch)
        for _ in range(24):
            requests = [Req(delay_ms=150, fail_code=9)] + [Req(payload=b"p" * 16384)] * 64
            with pytest.raises(grpc.RpcError) as e:
                list(stub.BidiStream(iter(requests), timeout=10))
            assert code_of(e) == grpc.StatusCode.FAILED_PRECONDITION
        reply = stub.Unary(Req(payload=b"q" * 65536), timeout=30)
        assert len(reply.payload) == 65536


# MARK: errors

def test_unknown_method_is_unimplemented(channel):
    for path in (f"/{ECHO}/Nope", "/no.such.Service/Unary", "/garbage"):
        call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
        with pytest.raises(grpc.RpcError) as e:
            call(b"", timeout=30)
        assert code_of(e) == grpc.StatusCode.UNIMPLEMENTED, path


def test_unknown_streaming_method_is_unimplemented_without_half_close(channel):
    # Answered at HEADERS time: a bidi client that never half-closes still gets its status.
    outbox: queue.Queue = queue.Queue()
    call = channel.stream_stream(f"/{ECHO}/NoSuchBidi")(iter(outbox.get, None), timeout=30)
    with pytest.raises(grpc.RpcError) as e:
        next(call)
    assert code_of(e) == grpc.StatusCode.UNIMPLEMENTED
    outbox.put(None)


@pytest.mark.parametrize("code", [c for c in grpc.StatusCode if c != grpc.StatusCode.OK])
def test_handler_status_codes_round_trip(stub, code):
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(fail_code=code.value[0], fail_message=f"failed with {code.name}"), timeout=30)
    assert code_of(e) == code
    assert e.value.details() == f"failed with {code.name}"


def test_non_ascii_and_percent_in_status_message_round_trip(stub):
    message = "naïve 100% ✓ — 日本語\ttab"
    with pytest.raises(grpc.RpcError) as e:
        stub.Unary(Req(fail_code=3, fail_message=message), timeout=30)
    assert code_of(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert e.value.details() == message


def test_status_message_is_percent_encoded_on_the_wire(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes(fail_code=3, fail_message="a%b é")),
               {}, tmp_path)
    assert r.grpc_status == 3
    assert r.trailers["grpc-message"] == "a%25b %C3%A9"


def test_errors_on_streaming_calls_arrive_after_the_sent_messages(stub):
    call = stub.BidiStream(iter([Req(message="ok"), Req(fail_code=5, fail_message="gone")]), timeout=30)
    got = []
    with pytest.raises(grpc.RpcError) as e:
        for r in call:
            got.append(r.message)
    assert got == ["ok"]
    assert code_of(e) == grpc.StatusCode.NOT_FOUND and e.value.details() == "gone"


def test_wrong_content_type_gets_http_415(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes()),
               {"content-type": "application/json"}, tmp_path)
    assert r.headers.get(":status") == "415", r.output


def test_content_type_must_be_grpc_not_just_a_prefix(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes()),
               {"content-type": "application/grpcx"}, tmp_path)
    assert r.headers.get(":status") == "415", r.output
    ok = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes()),
                {"content-type": "application/grpc+proto"}, tmp_path)
    assert ok.grpc_status == 0, ok.output


def test_get_request_is_rejected_with_405(echo_server):
    import subprocess
    proc = subprocess.run(["nghttp", "-v", "-n", "-H", "content-type: application/grpc",
                           f"http://127.0.0.1:{echo_server.port}/{ECHO}/Unary"], capture_output=True, timeout=20)
    assert b":status: 405" in proc.stdout


def test_undecodable_request_is_internal_with_a_clear_message(channel):
    call = channel.unary_unary(f"/{ECHO}/Unary", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as e:
        call(b"\xff\xff\xff", timeout=30)
    assert code_of(e) == grpc.StatusCode.INTERNAL
    assert "cannot decode request" in e.value.details()


def test_truncated_request_body_is_internal(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", frame(echo_request_bytes(message="hello"))[:-2], {}, tmp_path)
    assert r.grpc_status == 13, r.output


def test_unary_with_two_request_messages_is_rejected(echo_server, tmp_path):
    body = frame(echo_request_bytes()) * 2
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", body, {}, tmp_path)
    assert r.grpc_status not in (None, 0), r.output


def test_unary_without_a_request_message_is_rejected(echo_server, tmp_path):
    r = nghttp(echo_server.port, f"/{ECHO}/Unary", b"", {}, tmp_path)
    assert r.grpc_status not in (None, 0), r.output


def _raw_connection(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    return s


def _read_until_closed(s, limit=5.0):
    s.settimeout(limit)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except (ConnectionResetError, socket.timeout) as e:
        if isinstance(e, socket.timeout):
            raise AssertionError("server did not close the connection") from e
    return data


def test_garbage_after_the_preface_closes_the_connection(echo_server, stub):
    s = _raw_connection(echo_server.port)
    s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\xde\xad\xbe\xef" * 3
              + b"\xff" * 64)
    data = _read_until_closed(s)
    assert b"\x07\x00" in data or data, "expected GOAWAY before close"
    s.close()
    assert stub.Unary(Req(message="fine"), timeout=30).message == "fine"
    with grpc.insecure_channel(echo_server.address) as ch:
        assert echo_stub(ch).Unary(Req(message="new client"), timeout=30).message == "new client"


def test_a_non_http2_client_is_disconnected(echo_server, stub):
    s = _raw_connection(echo_server.port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _read_until_closed(s)
    s.close()
    assert stub.Unary(Req(message="fine"), timeout=30).message == "fine"


def test_client_vanishing_mid_call_cancels_the_handler_and_server_lives_on(echo_server, stub):
    _, cancelled = stats(stub)
    ch = grpc.insecure_channel(echo_server.address)
    # The handler runs: a close before the call reached the server would cancel no handler.
    future = start_delayed(stub, lambda: echo_stub(ch).Unary.future(Req(delay_ms=10000), timeout=30))
    ch.close()
    with pytest.raises(grpc.RpcError):
        future.result()
    assert wait_until(lambda: stats(stub)[1] > cancelled)


def test_abrupt_socket_close_mid_request_is_harmless(echo_server, stub):
    for _ in range(5):
        s = _raw_connection(echo_server.port)
        s.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        s.close()
    assert stub.Unary(Req(message="ok"), timeout=30).message == "ok"


def test_threads_hammering_one_channel(stub):
    errors = []

    def worker(n):
        try:
            for i in range(20):
                assert stub.Unary(Req(message=f"{n}-{i}"), timeout=10).message == f"{n}-{i}"
                assert len(list(stub.ServerStream(Req(count=3), timeout=10))) == 3
        except Exception as e:  # noqa: BLE001 - surfaced by the assert below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
