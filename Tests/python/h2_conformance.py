"""Shared vocabulary of the RFC 9113 conformance suite (test_h2_conformance_*.py): frame types,
flags, error codes and settings by their RFC names, and the three outcomes a test can expect
from the server - a connection error (GOAWAY with a code, then the server closes), a stream
error (RST_STREAM with a code on that stream), or nothing wrong (the connection still answers
a PING and serves a call). docs/HTTP2-CONFORMANCE.md lists what the suite covers."""
import struct

from grpch2_support import echo_request_bytes, frame, unframe
from h2_raw import (ACK, CONTINUATION, DATA, END_HEADERS, END_STREAM, GOAWAY, HEADERS, PING,  # noqa: F401
                    RST_STREAM, SETTINGS, WINDOW_UPDATE, Connection, StreamResult, encode_headers)

PRIORITY, PUSH_PROMISE = 0x2, 0x5
PADDED, PRIORITY_FLAG = 0x8, 0x20

# RFC 9113 §7 error codes.
(NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR, SETTINGS_TIMEOUT, STREAM_CLOSED,
 FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR, CONNECT_ERROR, ENHANCE_YOUR_CALM) = range(12)
ERROR_NAMES = {v: k for k, v in dict(
    NO_ERROR=0, PROTOCOL_ERROR=1, INTERNAL_ERROR=2, FLOW_CONTROL_ERROR=3, SETTINGS_TIMEOUT=4,
    STREAM_CLOSED=5, FRAME_SIZE_ERROR=6, REFUSED_STREAM=7, CANCEL=8, COMPRESSION_ERROR=9,
    CONNECT_ERROR=10, ENHANCE_YOUR_CALM=11).items()}
FRAME_NAMES = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS", 5: "PUSH_PROMISE",
               6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE", 9: "CONTINUATION"}

# RFC 9113 §6.5.2 setting identifiers.
HEADER_TABLE_SIZE, ENABLE_PUSH, MAX_CONCURRENT_STREAMS, INITIAL_WINDOW_SIZE, MAX_FRAME_SIZE, MAX_HEADER_LIST_SIZE = range(1, 7)
MAX_WINDOW = 2**31 - 1
DEFAULT_MAX_FRAME_SIZE = 16384

UNARY = "/grpch2.test.Echo/Unary"
SERVER_STREAM = "/grpch2.test.Echo/ServerStream"
CLIENT_STREAM = "/grpch2.test.Echo/ClientStream"


def request_fields(path: str = UNARY, extra=()) -> list[tuple[str, str]]:
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), *extra]


def echo_body(message: str = "hi", **fields) -> bytes:
    return frame(echo_request_bytes(message=message, **fields))


def settings_payload(*entries: tuple[int, int]) -> bytes:
    return b"".join(struct.pack(">HI", k, v) for k, v in entries)


def describe(conn: Connection) -> str:
    """The frames the server sent, for failure messages."""
    def one(f):
        extra = ""
        if f.type in (GOAWAY, RST_STREAM):
            code = struct.unpack(">I", f.payload[-4:] if f.type == RST_STREAM else f.payload[4:8])[0]
            extra = f" {ERROR_NAMES.get(code, code)}"
        return f"{FRAME_NAMES.get(f.type, f.type)}(stream={f.stream}, flags={f.flags:#x}, len={len(f.payload)}{extra})"
    return ", ".join(one(f) for f in conn.frames) + (" <closed>" if conn.closed else "")


def open_connection(port: int, **kw) -> Connection:
    """A connection past the handshake: the server's SETTINGS arrived and it ACKed ours."""
    conn = Connection(port, **kw)
    assert conn.wait(lambda c: server_settings(c) is not None and settings_acked(c)), describe(conn)
    return conn


def server_settings(conn: Connection) -> dict[int, int] | None:
    for f in conn.frames:
        if f.type == SETTINGS and not f.flags & ACK:
            return {k: v for k, v in struct.iter_unpack(">HI", f.payload)}
    return None


def settings_acked(conn: Connection) -> bool:
    return any(f.type == SETTINGS and f.flags & ACK for f in conn.frames)


def ping(conn: Connection, data: bytes = b"conform!", timeout: float = 30) -> bool:
    """True when the server answers a PING with this payload."""
    conn.send_frame(PING, 0, 0, data)
    return conn.wait(lambda c: any(f.type == PING and f.flags & ACK and f.payload == data for f in c.frames), timeout)


def expect_connection_error(conn: Connection, *codes: int, timeout: float = 30):
    """RFC 9113 §5.4.1: GOAWAY with one of `codes`, then the server closes the connection."""
    conn.wait(lambda c: c.goaway is not None, timeout)
    names = "/".join(ERROR_NAMES[c] for c in codes)
    assert conn.goaway is not None, f"expected GOAWAY({names}); server sent: {describe(conn)}"
    assert conn.goaway[1] in codes, f"expected GOAWAY({names}); server sent: {describe(conn)}"
    assert conn.wait(lambda c: c.closed, timeout), f"connection still open after GOAWAY: {describe(conn)}"


def _reset_code(conn: Connection, sid: int) -> int | None:
    s = conn.streams.get(sid)
    return None if s is None else s.reset


def expect_stream_error(conn: Connection, sid: int, *codes: int, timeout: float = 30):
    """RFC 9113 §5.4.2: RST_STREAM with one of `codes` on `sid`; the connection stays up."""
    conn.wait(lambda c: _reset_code(c, sid) is not None or c.goaway is not None, timeout)
    names = "/".join(ERROR_NAMES[c] for c in codes)
    assert _reset_code(conn, sid) in codes, f"expected RST_STREAM({names}) on {sid}; server sent: {describe(conn)}"
    assert conn.goaway is None, describe(conn)
    assert_serves(conn)


def expect_stream_or_connection_error(conn: Connection, sid: int, *codes: int, timeout: float = 30):
    """A stream error, which RFC 9113 §5.4.1 lets an endpoint raise to a connection error."""
    conn.wait(lambda c: _reset_code(c, sid) is not None or c.goaway is not None, timeout)
    names = "/".join(ERROR_NAMES[c] for c in codes)
    if conn.goaway is not None:
        expect_connection_error(conn, *codes, timeout=timeout)
    else:
        assert _reset_code(conn, sid) in codes, f"expected RST_STREAM/GOAWAY({names}); server sent: {describe(conn)}"


def assert_serves(conn: Connection, message: str = "still serving"):
    """The connection answers a PING and a fresh unary call succeeds on it."""
    assert ping(conn, b"alive?!!"), f"no PING ACK: {describe(conn)}"
    sid = conn.send_request(UNARY, echo_body(message))
    assert conn.wait_streams(sid), f"no answer on stream {sid}: {describe(conn)}"
    s = conn.streams[sid]
    assert s.trailers.get("grpc-status") == "0", s
    assert len(unframe(s.data)) == 1
    assert conn.goaway is None and not conn.closed


def send_body(conn: Connection, sid: int, body: bytes, end_stream: bool = True):
    """`body` as DATA frames of at most the default SETTINGS_MAX_FRAME_SIZE."""
    chunks = [body[i:i + DEFAULT_MAX_FRAME_SIZE] for i in range(0, len(body), DEFAULT_MAX_FRAME_SIZE)] or [b""]
    for i, chunk in enumerate(chunks):
        conn.send_data(sid, chunk, end_stream=end_stream and i == len(chunks) - 1)


def quiet(conn: Connection, seconds: float = 0.3):
    """Reads (and records) whatever the server sends during `seconds`."""
    conn.wait(lambda c: False, seconds)


def send_headers(conn: Connection, sid: int, fields, flags: int = END_HEADERS | END_STREAM, prefix: bytes = b""):
    """One HEADERS frame with `fields` (HPACK literals) on `sid`, bypassing `send_request`;
    later `send_request` calls use higher stream ids."""
    conn.streams.setdefault(sid, StreamResult())
    if sid % 2:
        conn.next_stream = max(conn.next_stream, sid + 2)
    conn.send_frame(HEADERS, flags, sid, prefix + encode_headers(fields))
