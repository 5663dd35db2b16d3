"""RFC 9113 conformance, connection level: raw frames against a real grpch2-echo-server (the
server's HTTP/2 layer is libnghttp2 with its validation on). Each test is named after the
section it checks and quotes the requirement in its docstring.

Sections covered here:
  §3.4    connection preface (server preface is SETTINGS; bad client preface; first frame not SETTINGS)
  §4.1    frame format (unknown flags and the reserved bit are ignored)
  §4.2    frame size (frames over SETTINGS_MAX_FRAME_SIZE; the server's own frames stay within the peer's)
  §4.3    header compression (an HPACK decoding error is a COMPRESSION_ERROR connection error)
  §5.5    extending HTTP/2 (unknown frame types, unknown settings are ignored)
  §6.5    SETTINGS (ACK, ACK with payload, non-zero stream, bad length)
  §6.5.2  defined settings (ENABLE_PUSH, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE bounds; the server's values)
  §6.5.3  settings synchronization (values applied in order)
  §6.7    PING (answered with the same payload; ACKs not answered; stream id, length)
  §6.8    GOAWAY (stream id; graceful shutdown names the last stream and lets it finish)
  §8.4    server push (a client's PUSH_PROMISE is a connection error)
The stream-level sections are in test_h2_conformance_streams.py; docs/HTTP2-CONFORMANCE.md has both.
"""
import signal
import struct

import pytest

from conftest import start_echo_server
from h2_conformance import (ACK, DATA, END_HEADERS, END_STREAM, ENABLE_PUSH, FLOW_CONTROL_ERROR, FRAME_SIZE_ERROR,
                            GOAWAY, HEADER_TABLE_SIZE, HEADERS, INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS, MAX_FRAME_SIZE,
                            MAX_WINDOW, NO_ERROR, PING, PROTOCOL_ERROR, PUSH_PROMISE, SERVER_STREAM, SETTINGS,
                            COMPRESSION_ERROR, CLIENT_STREAM, Connection, assert_serves, describe, echo_body,
                            expect_connection_error, open_connection, ping, request_fields, send_headers,
                            server_settings, settings_payload, DEFAULT_MAX_FRAME_SIZE,
                            expect_stream_or_connection_error, quiet, send_body)
from h2_raw import PREFACE, WINDOW_UPDATE, StreamResult, encode_headers


@pytest.fixture
def conn(echo_server):
    c = open_connection(echo_server.port)
    yield c
    c.close()


# MARK: §3.4 connection preface

def test_3_4_server_preface_is_a_settings_frame(echo_server):
    """§3.4: "The server connection preface consists of a potentially empty SETTINGS frame that
    MUST be the first frame the server sends in the HTTP/2 connection." """
    c = Connection(echo_server.port)
    try:
        assert c.wait(lambda c: c.frames), "server sent nothing"
        first = c.frames[0]
        assert first.type == SETTINGS and not first.flags & ACK, describe(c)
    finally:
        c.close()


def test_3_4_invalid_client_preface_closes_the_connection(echo_server):
    """§3.4: "Clients and servers MUST treat an invalid connection preface as a connection error
    of type PROTOCOL_ERROR." An HTTP/1.1 request instead of the preface: beyond its own preface
    (SETTINGS, and the connection WINDOW_UPDATE it may send at once) the server answers nothing
    but (optionally) GOAWAY(PROTOCOL_ERROR), and closes."""
    c = Connection(echo_server.port, preface=False)
    try:
        c.sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert c.wait(lambda c: c.closed, 30), f"connection still open: {describe(c)}"
        others = [f for f in c.frames if f.type not in (SETTINGS, GOAWAY, WINDOW_UPDATE) or f.stream != 0]
        assert not others, describe(c)
        if c.goaway is not None:
            assert c.goaway[1] == PROTOCOL_ERROR, describe(c)
    finally:
        c.close()


def test_3_4_first_client_frame_must_be_settings(echo_server):
    """§3.4: the client preface "MUST be followed by a SETTINGS frame"; anything else is an
    invalid preface: connection error PROTOCOL_ERROR."""
    c = Connection(echo_server.port, preface=False)
    try:
        c.sock.sendall(PREFACE + c.frame(PING, 0, 0, b"12345678"))
        expect_connection_error(c, PROTOCOL_ERROR)
        assert not any(f.type == PING and f.flags & ACK for f in c.frames), describe(c)
    finally:
        c.close()


# MARK: §4.1 frame format, §5.5 extensions

def test_4_1_unknown_flags_are_ignored(conn):
    """§4.1: "Unused flags are those that have no defined semantics for a particular frame type.
    Unused flags MUST be ignored on receipt." A PING with every flag but ACK set is a PING."""
    conn.send_frame(PING, 0xFE, 0, b"flags!!!")
    assert conn.wait(lambda c: any(f.type == PING and f.flags & ACK and f.payload == b"flags!!!" for f in c.frames)), describe(conn)
    assert_serves(conn)


def test_4_1_reserved_stream_id_bit_is_ignored(conn):
    """§4.1: the reserved bit of the stream identifier "MUST remain unset (0x00) when sending and
    MUST be ignored when receiving." A request whose HEADERS carry the bit is served on stream 1."""
    payload = encode_headers(request_fields())
    header = struct.pack(">I", len(payload))[1:] + bytes([HEADERS, END_HEADERS]) + struct.pack(">I", 0x80000001)
    conn.streams[1] = StreamResult()
    conn.next_stream = 3
    conn.sock.sendall(header + payload + conn.frame(DATA, END_STREAM, 1, echo_body("reserved bit")))
    assert conn.wait_streams(1), describe(conn)
    assert conn.streams[1].trailers.get("grpc-status") == "0", conn.streams[1]
    assert all(f.stream & 0x80000000 == 0 for f in conn.frames)


def test_5_5_unknown_frame_types_are_ignored(conn):
    """§5.5: "Implementations MUST ignore unknown or unsupported values in all extensible protocol
    elements" and "MUST discard frames that have unknown or unsupported types", on stream 0 and
    on a stream alike."""
    conn.send_frame(0xFA, 0, 0, b"extension")
    conn.send_frame(0xFB, 0x1, 1, b"on an idle stream")
    assert_serves(conn)


def test_6_5_2_unknown_setting_is_ignored(conn):
    """§6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or unsupported
    identifier MUST ignore that setting." It is still ACKed."""
    conn.send_frame(SETTINGS, 0, 0, settings_payload((0xF00D, 42)))
    assert conn.wait(lambda c: sum(1 for f in c.frames if f.type == SETTINGS and f.flags & ACK) >= 2), describe(conn)
    assert_serves(conn)


# MARK: §4.2 frame size

def test_4_2_data_frame_over_max_frame_size_is_frame_size_error(conn):
    """§4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds the size
    defined in SETTINGS_MAX_FRAME_SIZE" (the server advertises 16384)."""
    sid = conn.send_request(CLIENT_STREAM, None, end_stream=False)
    conn.send_data(sid, b"\0" * (DEFAULT_MAX_FRAME_SIZE + 1))
    expect_stream_or_connection_error(conn, sid, FRAME_SIZE_ERROR)


def test_4_2_headers_frame_over_max_frame_size_is_connection_error(conn):
    """§4.2: "A frame size error in a frame that could alter the state of the entire connection
    MUST be treated as a connection error; this includes any frame carrying a field block"."""
    send_headers(conn, 1, request_fields(extra=[("x-big", "v" * (DEFAULT_MAX_FRAME_SIZE + 100))]))
    expect_connection_error(conn, FRAME_SIZE_ERROR)


def test_4_2_server_frames_respect_the_client_max_frame_size(conn):
    """§4.2: "An endpoint MUST NOT send a frame with a length that exceeds the size defined by its
    peer" - here the default 16384: a 100 KB response arrives in DATA frames no larger."""
    sid = conn.send_request(SERVER_STREAM, None, end_stream=False)
    send_body(conn, sid, echo_body("big", payload=b"x" * 100_000, count=2))
    assert conn.wait_streams(sid), describe(conn)
    assert conn.streams[sid].trailers.get("grpc-status") == "0"
    assert len(conn.streams[sid].data) > 200_000
    assert max(len(f.payload) for f in conn.frames) <= DEFAULT_MAX_FRAME_SIZE


# MARK: §4.3 header compression

def test_4_3_hpack_decoding_error_is_compression_error(conn):
    """§4.3: "A decoding error in a field block MUST be treated as a connection error of type
    COMPRESSION_ERROR." Index 0 (0x80) is not a valid HPACK index (RFC 7541 §6.1)."""
    conn.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x80")
    expect_connection_error(conn, COMPRESSION_ERROR)


def test_4_3_hpack_index_past_the_dynamic_table_is_compression_error(conn):
    """§4.3 / RFC 7541 §2.3.3: an index beyond the static and (empty) dynamic table is a decoding
    error, hence COMPRESSION_ERROR."""
    conn.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\x10")  # index 127 + 16 = 143
    expect_connection_error(conn, COMPRESSION_ERROR)


def test_4_3_hpack_table_size_update_over_the_limit_is_compression_error(conn):
    """RFC 7541 §6.3 (via §4.3): a dynamic table size update above SETTINGS_HEADER_TABLE_SIZE
    (4096 by default) "MUST be treated as a decoding error"."""
    conn.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\x3f\xe1\x7f")  # size update to 16384
    expect_connection_error(conn, COMPRESSION_ERROR)


# MARK: §6.5 SETTINGS

def test_6_5_3_settings_ack_sent(echo_server):
    """§6.5.3: "Upon receiving a SETTINGS frame with the ACK flag not set, the recipient MUST
    immediately emit a SETTINGS frame with the ACK flag set" - with an empty payload (§6.5)."""
    c = Connection(echo_server.port, settings=[(HEADER_TABLE_SIZE, 4096), (MAX_CONCURRENT_STREAMS, 10)])
    try:
        assert c.wait(lambda c: any(f.type == SETTINGS and f.flags & ACK for f in c.frames)), describe(c)
        acks = [f for f in c.frames if f.type == SETTINGS and f.flags & ACK]
        assert all(f.payload == b"" and f.stream == 0 for f in acks)
    finally:
        c.close()


def test_6_5_settings_ack_with_payload_is_frame_size_error(conn):
    """§6.5: "Receipt of a SETTINGS frame with the ACK flag set and a length field value other
    than 0 MUST be treated as a connection error of type FRAME_SIZE_ERROR." """
    conn.send_frame(SETTINGS, ACK, 0, settings_payload((INITIAL_WINDOW_SIZE, 1)))
    expect_connection_error(conn, FRAME_SIZE_ERROR)


def test_6_5_settings_on_a_stream_is_protocol_error(conn):
    """§6.5: "If an endpoint receives a SETTINGS frame whose Stream Identifier field is anything
    other than 0x00, the endpoint MUST respond with a connection error of type PROTOCOL_ERROR." """
    conn.send_frame(SETTINGS, 0, 1, b"")
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_6_5_settings_length_not_multiple_of_6_is_frame_size_error(conn):
    """§6.5: "A SETTINGS frame with a length other than a multiple of 6 octets MUST be treated as
    a connection error of type FRAME_SIZE_ERROR." """
    conn.send_frame(SETTINGS, 0, 0, settings_payload((INITIAL_WINDOW_SIZE, 100))[:5])
    expect_connection_error(conn, FRAME_SIZE_ERROR)


def test_6_5_2_enable_push_other_than_0_or_1_is_protocol_error(conn):
    """§6.5.2 SETTINGS_ENABLE_PUSH: "Any value other than 0 or 1 MUST be treated as a connection
    error of type PROTOCOL_ERROR." """
    conn.send_frame(SETTINGS, 0, 0, settings_payload((ENABLE_PUSH, 2)))
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_6_5_2_initial_window_size_over_max_is_flow_control_error(conn):
    """§6.5.2 SETTINGS_INITIAL_WINDOW_SIZE: "Values above the maximum flow-control window size of
    2^31-1 MUST be treated as a connection error of type FLOW_CONTROL_ERROR." """
    conn.send_frame(SETTINGS, 0, 0, settings_payload((INITIAL_WINDOW_SIZE, MAX_WINDOW + 1)))
    expect_connection_error(conn, FLOW_CONTROL_ERROR)


@pytest.mark.parametrize("value", [DEFAULT_MAX_FRAME_SIZE - 1, 2**24])
def test_6_5_2_max_frame_size_out_of_range_is_protocol_error(conn, value):
    """§6.5.2 SETTINGS_MAX_FRAME_SIZE: "Values outside this range [2^14, 2^24-1] MUST be treated
    as a connection error of type PROTOCOL_ERROR." """
    conn.send_frame(SETTINGS, 0, 0, settings_payload((MAX_FRAME_SIZE, value)))
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_6_5_2_server_settings_are_valid(conn):
    """§6.5.2: the server's own SETTINGS are within range, and "A server MUST NOT explicitly set
    [SETTINGS_ENABLE_PUSH] to 1"."""
    s = server_settings(conn)
    assert s.get(ENABLE_PUSH, 0) == 0, s
    assert DEFAULT_MAX_FRAME_SIZE <= s.get(MAX_FRAME_SIZE, DEFAULT_MAX_FRAME_SIZE) < 2**24, s
    assert s.get(INITIAL_WINDOW_SIZE, 65535) <= MAX_WINDOW, s
    assert s.get(MAX_CONCURRENT_STREAMS, 100) >= 100, s  # §6.5.2 recommends no fewer than 100


def test_6_5_3_settings_values_are_processed_in_order(echo_server):
    """§6.5.3: "The values in the SETTINGS frame MUST be processed in the order they appear, with
    no other frame processing between values." INITIAL_WINDOW_SIZE 0 then 7: the server may
    send exactly 7 bytes of response DATA before the client opens the stream window."""
    c = open_connection(echo_server.port, settings=[(INITIAL_WINDOW_SIZE, 0), (INITIAL_WINDOW_SIZE, 7)],
                        auto_window_update=False)
    try:
        sid = c.send_request(SERVER_STREAM, echo_body("ordered", payload=b"p" * 100))
        c.wait(lambda c: len(c.streams[sid].data) >= 7, 30)
        quiet(c)  # anything more would arrive now
        assert len(c.streams[sid].data) == 7, describe(c)
        c.send_frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", 1000))  # WINDOW_UPDATE: the rest may come
        assert c.wait_streams(sid), describe(c)
        assert c.streams[sid].trailers.get("grpc-status") == "0"
    finally:
        c.close()


# MARK: §6.7 PING

def test_6_7_ping_is_answered_with_the_same_payload(conn):
    """§6.7: "Receivers of a PING frame that does not include an ACK flag MUST send a PING frame
    with the ACK flag set in response, with an identical frame payload." """
    assert ping(conn, bytes(range(8)))


def test_6_7_ping_ack_is_not_answered(conn):
    """§6.7: "An endpoint MUST NOT respond to PING frames containing this flag [ACK]." """
    conn.send_frame(PING, ACK, 0, b"unasked!")
    assert ping(conn, b"asked!!!")
    assert not any(f.type == PING and f.payload == b"unasked!" for f in conn.frames), describe(conn)


def test_6_7_ping_on_a_stream_is_protocol_error(conn):
    """§6.7: "If a PING frame is received with a Stream Identifier field value other than 0x00,
    the recipient MUST respond with a connection error of type PROTOCOL_ERROR." """
    conn.send_frame(PING, 0, 1, b"12345678")
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_6_7_ping_length_other_than_8_is_frame_size_error(conn):
    """§6.7: "Receipt of a PING frame with a length field value other than 8 MUST be treated as a
    connection error of type FRAME_SIZE_ERROR." """
    conn.send_frame(PING, 0, 0, b"1234567")
    expect_connection_error(conn, FRAME_SIZE_ERROR)


# MARK: §6.8 GOAWAY

def test_6_8_goaway_on_a_stream_is_protocol_error(conn):
    """§6.8: "An endpoint MUST treat a GOAWAY frame with a stream identifier other than 0x00 as a
    connection error of type PROTOCOL_ERROR." """
    conn.send_frame(GOAWAY, 0, 1, struct.pack(">II", 0, NO_ERROR))
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_6_8_client_goaway_lets_its_open_streams_finish(conn):
    """§6.8: GOAWAY stops the *receiver* from opening streams; "Activity on streams numbered lower
    than or equal to the last stream identifier might still complete successfully." A client's
    GOAWAY(NO_ERROR) leaves its own open call alone: the server still answers it."""
    sid = conn.send_request(CLIENT_STREAM, None, end_stream=False)
    conn.send_frame(GOAWAY, 0, 0, struct.pack(">II", 0, NO_ERROR))
    conn.send_data(sid, echo_body("after goaway"), end_stream=True)
    assert conn.wait_streams(sid), describe(conn)
    assert conn.streams[sid].trailers.get("grpc-status") == "0", describe(conn)


def test_6_8_graceful_shutdown_goaway_names_the_last_stream_and_lets_it_finish(binaries):
    """§6.8: a server shutting down sends GOAWAY whose last stream identifier covers the streams it
    will still process; "the sender ... SHOULD complete" those. SIGTERM during an open call:
    GOAWAY(NO_ERROR, last >= the call's stream), then the call completes."""
    server = start_echo_server(binaries)
    c = open_connection(server.port)
    try:
        sid = c.send_request(CLIENT_STREAM, None, end_stream=False)
        assert ping(c)  # the HEADERS were processed
        server.proc.send_signal(signal.SIGTERM)
        assert c.wait(lambda c: c.goaway is not None, 10), describe(c)
        last, code = c.goaway
        assert code == NO_ERROR and last >= sid, describe(c)
        c.send_data(sid, echo_body("finishing"), end_stream=True)
        assert c.wait_streams(sid), describe(c)
        assert c.streams[sid].trailers.get("grpc-status") == "0", describe(c)
    finally:
        c.close()
        server.stop()


# MARK: §8.4 server push

def test_8_4_push_promise_from_a_client_is_protocol_error(conn):
    """§8.4: "A client cannot push. Thus, servers MUST treat the receipt of a PUSH_PROMISE frame as
    a connection error of type PROTOCOL_ERROR." """
    sid = conn.send_request(CLIENT_STREAM, None, end_stream=False)
    conn.send_frame(PUSH_PROMISE, END_HEADERS, sid, struct.pack(">I", 2) + encode_headers(request_fields()))
    expect_connection_error(conn, PROTOCOL_ERROR)


def test_8_4_server_never_pushes(conn):
    """§8.4 / §6.5.2: a server sends no PUSH_PROMISE (a client may forbid push; ours never pushes)."""
    sid = conn.send_request(SERVER_STREAM, echo_body("no push", count=3))
    assert conn.wait_streams(sid)
    assert not any(f.type == PUSH_PROMISE for f in conn.frames)
