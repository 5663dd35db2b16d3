"""RFC 9113 conformance, HTTP message semantics: malformed requests sent as raw frames to a real
grpch2-echo-server (libnghttp2 with its HTTP messaging validation on). §8.1.1: "Malformed
requests or responses that are detected MUST be treated as a stream error (Section 5.4.2) of type
PROTOCOL_ERROR" - so each case expects RST_STREAM(PROTOCOL_ERROR) on its stream and a connection
that serves on. Each test is named after the section it checks; parameters name the rule.

Sections covered here:
  §8.1    HTTP message framing (trailers must end the stream and carry no pseudo-headers)
  §8.1.1  malformed messages (content-length that disagrees with the DATA)
  §8.2.1  field validity (upper-case names, forbidden characters in names and values,
          whitespace around values)
  §8.2.2  connection-specific fields (connection, keep-alive, proxy-connection,
          transfer-encoding, upgrade; te other than "trailers")
  §8.3    control data (pseudo-headers: unknown, response-only, repeated, after regular fields,
          missing or empty :path, missing :method/:scheme)
Other sections: test_h2_conformance_connection.py, _streams.py, _flow.py; docs/HTTP2-CONFORMANCE.md.
"""
import pytest

from h2_conformance import (DATA, END_HEADERS, END_STREAM, HEADERS, PROTOCOL_ERROR, UNARY, describe, echo_body,
                            expect_stream_error, open_connection, request_fields, send_headers)
from h2_raw import encode_headers

BASE = request_fields()


def without(name: str) -> list[tuple[str, str]]:
    return [(n, v) for n, v in BASE if n != name]


@pytest.fixture
def conn(echo_server):
    c = open_connection(echo_server.port)
    yield c
    c.close()


def send_malformed(conn, fields) -> int:
    """A request with `fields` and a valid body; returns its stream id."""
    sid = conn.next_stream
    send_headers(conn, sid, fields, flags=END_HEADERS)
    conn.send_data(sid, echo_body("malformed"), end_stream=True)
    return sid


@pytest.mark.parametrize("fields", [
    BASE + [("X-Upper", "1")],
    BASE + [("x space", "1")],
    BASE + [("x-colon:", "1")],
    BASE + [("x-nul", "a\0b")],
    BASE + [("x-lf", "a\nb")],
    BASE + [("x-cr", "a\rb")],
    BASE + [("x-leading-space", " value")],
    BASE + [("x-trailing-tab", "value\t")],
], ids=["uppercase-name", "space-in-name", "colon-in-name", "nul-in-value", "lf-in-value", "cr-in-value",
        "leading-space-in-value", "trailing-tab-in-value"])
def test_8_2_1_invalid_field_is_malformed(conn, fields):
    """§8.2.1: "A field name MUST NOT contain characters in the ranges 0x00-0x20, 0x41-0x5a, or
    0x7f-0xff" nor a colon outside pseudo-headers; "A field value MUST NOT contain the zero value
    (0x00), line feed (0x0a), or carriage return (0x0d)" and "MUST NOT start or end with an ASCII
    whitespace character". "A request or response that contains a field that violates any of
    these conditions MUST be treated as malformed (Section 8.1.1)." """
    sid = send_malformed(conn, fields)
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


@pytest.mark.parametrize("field", [
    ("connection", "keep-alive"), ("keep-alive", "timeout=5"), ("proxy-connection", "keep-alive"),
    ("transfer-encoding", "chunked"), ("upgrade", "h2c"), ("te", "gzip"),
], ids=lambda f: f"{f[0]}={f[1]}" if isinstance(f, tuple) else None)
def test_8_2_2_connection_specific_field_is_malformed(conn, field):
    """§8.2.2: "An endpoint MUST NOT generate an HTTP/2 message containing connection-specific
    header fields ... Any message containing connection-specific header fields MUST be treated as
    malformed"; "The only exception to this is the TE header field, which MAY be present in an
    HTTP/2 request; when it is, it MUST NOT contain any value other than 'trailers'." """
    fields = [f for f in BASE if f[0] != "te"] + [field]
    sid = send_malformed(conn, fields)
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


@pytest.mark.parametrize("fields", [
    BASE + [(":unknown", "x")],
    BASE + [(":status", "200")],
    BASE + [(":path", "/grpch2.test.Echo/Unary")],
    BASE + [(":method", "POST")],
    [("content-type", "application/grpc")] + [f for f in BASE if f[0] != "content-type"],
    without(":path"),
    [(n, "" if n == ":path" else v) for n, v in BASE],
    without(":method"),
    without(":scheme"),
], ids=["unknown-pseudo-header", "response-pseudo-header", "repeated-path", "repeated-method",
        "pseudo-header-after-regular-field", "missing-path", "empty-path", "missing-method", "missing-scheme"])
def test_8_3_invalid_pseudo_headers_are_malformed(conn, fields):
    """§8.3: "Endpoints MUST NOT generate pseudo-header fields other than those defined"; "Pseudo-
    header fields defined for responses MUST NOT appear in requests"; "The same pseudo-header
    field name MUST NOT appear more than once"; "All pseudo-header fields MUST appear in a field
    block before all regular field lines"; §8.3.1: "All HTTP/2 requests MUST include exactly one
    valid value for the :method, :scheme, and :path pseudo-header fields" and ":path ... MUST NOT
    be empty". Each violation "MUST be treated as malformed"."""
    sid = send_malformed(conn, fields)
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


def test_8_1_trailers_without_end_stream_are_malformed(conn):
    """§8.1: a trailer section is "zero or more HEADERS frames" that END the stream; "An endpoint
    that receives a HEADERS frame without the END_STREAM flag set after receiving the HEADERS frame
    that opens a request ... MUST treat the corresponding request ... as malformed"."""
    sid = conn.next_stream
    send_headers(conn, sid, BASE, flags=END_HEADERS)
    conn.send_data(sid, echo_body("with trailers"))
    conn.send_frame(HEADERS, END_HEADERS, sid, encode_headers([("x-trailer", "1")]))
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


def test_8_1_pseudo_header_in_trailers_is_malformed(conn):
    """§8.1: "Trailer fields MUST NOT include pseudo-header fields"; such a request is malformed."""
    sid = conn.next_stream
    send_headers(conn, sid, BASE, flags=END_HEADERS)
    conn.send_data(sid, echo_body("with trailers"))
    conn.send_frame(HEADERS, END_HEADERS | END_STREAM, sid, encode_headers([(":path", "/x")]))
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


def test_8_1_valid_trailers_end_the_request(conn):
    """§8.1: the valid counterpart - trailers with END_STREAM and no pseudo-headers end the request
    half and the call is served."""
    sid = conn.next_stream
    send_headers(conn, sid, BASE, flags=END_HEADERS)
    conn.send_data(sid, echo_body("with trailers"))
    conn.send_frame(HEADERS, END_HEADERS | END_STREAM, sid, encode_headers([("x-trailer", "1")]))
    assert conn.wait_streams(sid) and conn.streams[sid].trailers.get("grpc-status") == "0", describe(conn)


@pytest.mark.parametrize("difference", [-5, 100], ids=["shorter-than-data", "longer-than-data"])
def test_8_1_1_content_length_disagreeing_with_data_is_malformed(conn, difference):
    """§8.1.1: "A request or response is also malformed if the value of a content-length header
    field does not equal the sum of the DATA frame payload lengths that form the content"."""
    body = echo_body("length")
    sid = conn.next_stream
    send_headers(conn, sid, BASE + [("content-length", str(len(body) + difference))], flags=END_HEADERS)
    conn.send_frame(DATA, END_STREAM, sid, body)
    expect_stream_error(conn, sid, PROTOCOL_ERROR)


def test_8_1_1_content_length_matching_data_is_served(conn):
    """§8.1.1: the valid counterpart - a content-length equal to the DATA length is accepted."""
    body = echo_body("length")
    sid = conn.next_stream
    send_headers(conn, sid, BASE + [("content-length", str(len(body)))], flags=END_HEADERS)
    conn.send_frame(DATA, END_STREAM, sid, body)
    assert conn.wait_streams(sid) and conn.streams[sid].trailers.get("grpc-status") == "0", describe(conn)
