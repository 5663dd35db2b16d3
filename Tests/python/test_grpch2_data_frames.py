"""Response DATA frames as the server writes them (NO_COPY: nghttp2 hands back each frame's
9-byte header and `NGHTTP2Session.sendData` writes header and payload into the send buffer, a
flush stopping at its size limit). Read on the wire with h2_raw against the echo server: every
frame is well formed and within the peer's limits, every byte of every stream arrives once and in
order, trailers come last, and a stream reset or a connection closed while frames are in flight
costs no other stream anything. Plain h2c, TLS, gzip-compressed and gRPC-Web responses."""
import gzip
import random
import struct

import pytest

from conftest import start_echo_server, start_tls_echo_server
from grpch2_support import echo_request_bytes, frame, unframe
from h2_conformance import (CANCEL, DATA, DEFAULT_MAX_FRAME_SIZE, END_STREAM, HEADERS, INITIAL_WINDOW_SIZE,
                            MAX_FRAME_SIZE, PADDED, RST_STREAM, SERVER_STREAM, WINDOW_UPDATE, Connection,
                            describe, open_connection, ping, send_body)
from echo_pb.grpch2.test import echo_pb2


def payload_for(stream: int, index: int, size: int) -> bytes:
    """Bytes no other message has: a misplaced or repeated chunk cannot go unnoticed."""
    seed = struct.pack(">II", stream, index)
    return (seed + bytes(range(256)) * (size // 256 + 1))[:size]


def request(stream: int, count: int, size: int) -> bytes:
    """A ServerStream request whose `count` responses each echo a `size`-byte payload; the
    payload differs per stream, the response `index` tells the messages apart."""
    return frame(echo_request_bytes(message=f"s{stream}", count=count, payload=payload_for(stream, 0, size)))


def call(c: Connection, body: bytes, extra=(), content_type: str = "application/grpc") -> int:
    """A ServerStream call whose request body is sent in frames of the default maximum size."""
    sid = c.send_request(SERVER_STREAM, None, list(extra), end_stream=False, content_type=content_type)
    send_body(c, sid, body)
    return sid


def responses(body: bytes, compressed_ok: bool = False) -> list[echo_pb2.EchoResponse]:
    out = []
    for compressed, message in unframe(body):
        if compressed:
            assert compressed_ok, "a compressed message the client did not ask for"
            message = gzip.decompress(message)
        out.append(echo_pb2.EchoResponse.FromString(message))
    return out


def assert_well_formed(c: Connection, sid: int, max_frame: int = DEFAULT_MAX_FRAME_SIZE):
    """The stream's frames: HEADERS, DATA within the frame size (no padding, no END_STREAM on
    DATA: the trailers end the call), then the trailers, nothing after them."""
    frames = [f for f in c.frames if f.stream == sid]
    kinds = [f.type for f in frames]
    assert kinds[0] == HEADERS and kinds[-1] == HEADERS and frames[-1].flags & END_STREAM, describe(c)
    data = [f for f in frames if f.type == DATA]
    assert kinds == [HEADERS] + [DATA] * len(data) + [HEADERS], describe(c)
    for f in data:
        assert 0 < len(f.payload) <= max_frame, f"DATA of {len(f.payload)} bytes (max frame {max_frame})"
        assert not f.flags & (PADDED | END_STREAM), f"DATA flags {f.flags:#x}"
    assert c.streams[sid].trailers.get("grpc-status") == "0", c.streams[sid].trailers


def serve_interleaved(c: Connection, streams: int = 6, count: int = 4, size: int = 70_000):
    sids = [call(c, request(s, count, size)) for s in range(streams)]
    assert c.wait_streams(*sids, timeout=30), describe(c)
    for s, sid in enumerate(sids):
        assert_well_formed(c, sid)
        got = responses(c.streams[sid].data)
        assert [r.index for r in got] == list(range(count)), f"stream {sid}"
        assert all(r.payload == payload_for(s, 0, size) and r.message == f"s{s}" for r in got), f"stream {sid}: bytes differ"
    # Frames of the streams really were interleaved (one stream never held the connection).
    order = [f.stream for f in c.frames if f.type == DATA]
    switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
    assert switches >= streams, f"only {switches} switches between streams"


def test_large_responses_on_interleaved_streams_arrive_whole_in_order_and_within_the_frame_size(echo_server):
    """Six server streams of four 70 KB messages each (a message spans five frames, frames cross
    message boundaries) under an odd 7,001-byte stream window refilled as data arrives: DATA
    frames sized by window and frame size, every byte once and in order, trailers last."""
    c = open_connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, 7001)])
    try:
        serve_interleaved(c)
        assert ping(c)
    finally:
        c.close()


def test_a_window_of_a_few_bytes_is_respected_frame_by_frame(echo_server):
    """A 1,000-byte window and updates of odd sizes given one at a time: each DATA frame fits
    the credit left, and the response is still whole when credit suffices."""
    c = open_connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, 1000)], auto_window_update=False)
    try:
        sid = call(c, request(1, 2, 30_000))
        credit, received, step = 1000, 0, 0
        while not c.streams[sid].ended:
            assert c.wait(lambda c: len(c.streams[sid].data) == received + credit or c.streams[sid].ended, 5), describe(c)
            for f in c.frames:
                assert f.type != DATA or len(f.payload) <= 1000 + 3_333, f"DATA of {len(f.payload)}"
            received = len(c.streams[sid].data)
            step += 1
            credit = 3_333 if step % 2 else 1_777
            c.send_frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", credit))
        assert_well_formed(c, sid)
        assert [r.payload for r in responses(c.streams[sid].data)] == [payload_for(1, 0, 30_000)] * 2
    finally:
        c.close()


def test_a_larger_max_frame_size_from_the_client_is_accepted_and_frames_stay_valid(echo_server):
    """SETTINGS_MAX_FRAME_SIZE raised to 64 KiB: frames may grow to it (the server chooses
    16 KiB today) and stay whole."""
    c = open_connection(echo_server.port, settings=[(MAX_FRAME_SIZE, 65536)])
    try:
        sid = call(c, request(2, 3, 200_000))
        assert c.wait_streams(sid, timeout=30), describe(c)
        assert_well_formed(c, sid, max_frame=65536)
        assert [r.payload for r in responses(c.streams[sid].data)] == [payload_for(2, 0, 200_000)] * 3
    finally:
        c.close()


def test_a_stream_reset_while_its_response_is_in_flight_costs_the_other_streams_nothing(echo_server):
    """RST_STREAM(CANCEL) on a stream whose 2 MB response is half written (its 1 MiB window
    used up, the rest queued on the server): the other streams' responses arrive whole, the
    reset stream gets nothing more, and the connection serves a new call."""
    c = open_connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, 1 << 20)], auto_window_update=False)
    try:
        big = call(c, request(9, 20, 100_000))
        others = [call(c, request(s, 3, 50_000)) for s in range(3)]
        assert c.wait(lambda c: len(c.streams[big].data) == 1 << 20, 10), describe(c)
        c.send_frame(RST_STREAM, 0, big, struct.pack(">I", CANCEL))
        assert c.wait_streams(*others, timeout=30), describe(c)
        for s, sid in enumerate(others):
            assert_well_formed(c, sid)
            assert [r.payload for r in responses(c.streams[sid].data)] == [payload_for(s, 0, 50_000)] * 3
        assert len(c.streams[big].data) == 1 << 20 and len(c.streams[big].header_blocks) == 1, \
            "the reset stream got more than its window, or trailers"
        c.auto_window_update = True
        assert ping(c) and c.goaway is None, describe(c)
        again = call(c, request(5, 2, 40_000))
        assert c.wait_streams(again, timeout=10), describe(c)
        assert_well_formed(c, again)
    finally:
        c.close()


def test_many_resets_mid_response_leave_the_server_serving(echo_server):
    """Twenty streams with large responses, each reset right after its first DATA frame, then
    the connection closed with responses still queued: the server stays up and serves."""
    c = open_connection(echo_server.port)
    try:
        sids = [call(c, request(s, 10, 60_000)) for s in range(20)]
        for sid in sids:
            c.wait(lambda c: len(c.streams[sid].data) > 0 or c.streams[sid].ended, 5)
            c.send_frame(RST_STREAM, 0, sid, struct.pack(">I", CANCEL))
        more = [call(c, request(s, 10, 60_000)) for s in range(5)]
        c.wait(lambda c: any(c.streams[m].data for m in more), 5)
    finally:
        c.close()  # responses still queued on the server
    assert echo_server.proc.poll() is None
    fresh = open_connection(echo_server.port)
    try:
        sid = call(fresh, request(3, 2, 60_000))
        assert fresh.wait_streams(sid, timeout=10), describe(fresh)
        assert_well_formed(fresh, sid)
    finally:
        fresh.close()


def test_gzip_responses_span_frames_and_decompress_to_the_payload(echo_server):
    """A gzip request from a client that accepts gzip gets gzip responses: each compressed
    message may span frames; they decompress to the payload, in order."""
    c = open_connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, 5000)])
    try:
        # Random-looking bytes compress little, so the responses still span many frames.
        noisy = random.Random(15).randbytes(120_000)
        message = echo_request_bytes(message="zipped", count=3, payload=noisy)
        sid = call(c, frame(gzip.compress(message), compressed=True),
                             [("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip")])
        assert c.wait_streams(sid, timeout=30), describe(c)
        assert c.streams[sid].headers.get("grpc-encoding") == "gzip"
        assert_well_formed(c, sid)
        got = responses(c.streams[sid].data, compressed_ok=True)
        assert [r.index for r in got] == [0, 1, 2] and all(r.payload == noisy for r in got)
        assert sum(1 for f in c.frames if f.stream == sid and f.type == DATA) > 3
    finally:
        c.close()


def test_over_tls_interleaved_large_responses_arrive_whole(binaries, tmp_path):
    """The same bytes through the TLS handler (its records cut the send buffer differently)."""
    server, tls = start_tls_echo_server(binaries, tmp_path)
    try:
        c = open_connection(server.port, tls=tls, settings=[(INITIAL_WINDOW_SIZE, 7001)])
        try:
            serve_interleaved(c, streams=4)
        finally:
            c.close()
    finally:
        server.stop()


def test_grpc_web_over_http2_large_responses_end_with_the_trailer_frame(binaries):
    """gRPC-Web over HTTP/2: the messages, then the trailer frame (flag 0x80) in the body, the
    DATA frame carrying its end ending the stream (no HTTP/2 trailers)."""
    server = start_echo_server(binaries, "--web")
    try:
        c = open_connection(server.port, settings=[(INITIAL_WINDOW_SIZE, 9000)])
        try:
            sids = [call(c, request(s, 3, 80_000), content_type="application/grpc-web+proto",
                                   extra=[("x-grpc-web", "1")]) for s in range(3)]
            assert c.wait_streams(*sids, timeout=30), describe(c)
            for s, sid in enumerate(sids):
                frames = [f for f in c.frames if f.stream == sid]
                assert frames[-1].type == DATA and frames[-1].flags & END_STREAM, describe(c)
                body = c.streams[sid].data
                messages, i = [], 0
                while i + 5 <= len(body):
                    flag, n = body[i], struct.unpack(">I", body[i + 1:i + 5])[0]
                    messages.append((flag, body[i + 5:i + 5 + n]))
                    i += 5 + n
                assert i == len(body), "the body ends mid-message"
                assert [f for f, _ in messages] == [0, 0, 0, 0x80], [f for f, _ in messages]
                assert b"grpc-status:0" in messages[-1][1].replace(b" ", b"")
                got = [echo_pb2.EchoResponse.FromString(m) for _, m in messages[:-1]]
                assert all(r.payload == payload_for(s, 0, 80_000) for r in got)
        finally:
            c.close()
    finally:
        server.stop()


@pytest.mark.parametrize("window", [65535, 1 << 20])
def test_a_connection_closed_with_a_flush_cut_at_the_send_limit_leaves_the_server_serving(echo_server, window):
    """Responses larger than one flush (1 MiB) queued on many streams, the client gone before
    reading them: the server drops them and serves the next connection."""
    c = Connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, window)])
    for s in range(8):
        call(c, request(s, 8, 200_000))
    c.wait(lambda c: sum(len(s.data) for s in c.streams.values()) > 100_000, 5)
    c.close()
    assert echo_server.proc.poll() is None
    fresh = open_connection(echo_server.port)
    try:
        sid = call(fresh, request(1, 2, 100_000))
        assert fresh.wait_streams(sid, timeout=10), describe(fresh)
        assert_well_formed(fresh, sid)
    finally:
        fresh.close()
