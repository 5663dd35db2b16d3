"""gRPC-Web and Connect over HTTP/1.1 on the gRPC port, against a real kato-server: plain curl,
raw HTTP from the standard library (every byte of each protocol's framing checked), the Connect
Python client (`connectrpc`, Connect and gRPC-Web, proto and JSON), `buf curl`, and grpcio on the
same port. docs/WEB.md has the table of protocol x call kind x client."""
import base64
import http.client
import json
import shutil
import struct
import subprocess
import threading
import time

import grpc
import pytest

from kato_client._pb.google.rpc import error_details_pb2, status_pb2
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, session_pb2_grpc

from conftest import ROOT, unavailable, start_kato_server
from grpch2_support import make_pki
from h2_raw import Connection
from security_support import MEM, admin_address, http_get, metric

ORIGIN = "https://console.example"
KEY = "web-key-123"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def server(binaries, tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("web") / "keys.json"
    keyfile.write_text(json.dumps([{"principal": "web-user", "key": KEY, "roles": ["admin"], "nodes": ["*"]}]))
    s = start_kato_server(binaries, "--auth-keys", str(keyfile), "--cors-origin", ORIGIN, env=MEM)
    yield s
    s.stop()


def post(server, path, body, content_type, headers=None, method="POST"):
    """One HTTP/1.1 request on a fresh connection: (status, headers dict, body bytes)."""
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers={"content-type": content_type, **AUTH, **(headers or {})})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def envelopes(body):
    """[(flags, payload)] of an enveloped body (gRPC-Web, Connect streaming)."""
    out, i = [], 0
    while i < len(body):
        flags, length = struct.unpack(">BI", body[i:i + 5])
        out.append((flags, body[i + 5:i + 5 + length]))
        i += 5 + length
    assert i == len(body), "body ends inside an envelope"
    return out


def envelope(payload, flags=0):
    return struct.pack(">BI", flags, len(payload)) + payload


def grpc_web_trailers(payload):
    lines = payload.decode().split("\r\n")
    assert lines[-1] == "", "trailer block must end with CRLF"
    return dict(line.split(": ", 1) for line in lines[:-1])


def create_session_json(server, node="web-node"):
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", json.dumps({"nodeId": node}), "application/json")
    assert status == 200, body
    return json.loads(body)["sessionId"]


# MARK: Connect unary, JSON and binary


def test_connect_json_unary_creates_a_session(server):
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"n1","ttl_seconds":60}',
                                 "application/json")
    assert status == 200
    assert headers["content-type"] == "application/json"
    session = json.loads(body)
    assert session["nodeId"] == "n1" and session["ttlSeconds"] == "60" and session["sessionId"]
    assert headers["trailer-x-trace-id"], "trailing metadata travels as trailer- headers"


def test_connect_binary_unary_matches_grpc(server):
    request = session_pb2.CreateSessionRequest(node_id="n2").SerializeToString()
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", request, "application/proto")
    assert status == 200 and headers["content-type"] == "application/proto"
    session = session_pb2.Session.FromString(body)
    assert session.node_id == "n2"
    with grpc.insecure_channel(server.address) as channel:  # gRPC over HTTP/2 on the same port sees it
        got = session_pb2_grpc.SessionServiceStub(channel).GetSession(
            session_pb2.GetSessionRequest(session_id=session.session_id), metadata=tuple(AUTH.items()))
    assert got.session_id == session.session_id


def test_connect_observe_then_predict_in_json(server):
    sid = create_session_json(server)
    for strings in (["a", "b"], ["c"]):
        status, _, body = post(server, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": sid, "strings": strings}),
                               "application/json")
        assert status == 200, body
    status, _, body = post(server, "/kato.v2.ObserveService/Learn", json.dumps({"sessionId": sid}), "application/json")
    assert status == 200, body
    assert json.loads(body)["patternName"].startswith("PTRN|")
    post(server, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": sid, "strings": ["a", "b"]}), "application/json")
    status, _, body = post(server, "/kato.v2.PredictService/GetPredictions", json.dumps({"sessionId": sid}), "application/json")
    assert status == 200, body
    predictions = json.loads(body)["predictions"]
    assert predictions and predictions[0]["future"] == [{"symbols": ["c"]}]


def test_connect_error_has_code_http_status_details_and_trace_id(server):
    status, headers, body = post(server, "/kato.v2.SessionService/GetSession", b'{"session_id":"nope"}', "application/json",
                                 headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
    assert status == 404
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["code"] == "not_found" and "nope" in error["message"]
    info = next(d for d in error["details"] if d["type"] == "google.rpc.ErrorInfo")
    decoded = error_details_pb2.ErrorInfo.FromString(base64.b64decode(info["value"] + "=" * (-len(info["value"]) % 4)))
    assert decoded.reason and decoded.metadata["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert headers["trailer-x-trace-id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_connect_without_credentials_is_unauthenticated(server):
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/kato.v2.SessionService/CreateSession", body=b'{"node_id":"n1"}', headers={"content-type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 401 and json.loads(resp.read())["code"] == "unauthenticated"


def test_connect_malformed_json_is_invalid_argument_and_changes_nothing(server):
    for body in (b'{"node_id":', b'{"no_such_field":1}', b'{"ttl_seconds":"ten"}', b'[1]'):
        status, _, reply = post(server, "/kato.v2.SessionService/CreateSession", body, "application/json")
        assert status == 400, (body, reply)
        assert json.loads(reply)["code"] == "invalid_argument"


def test_connect_gzip_request_body(server):
    import gzip
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", gzip.compress(b'{"node_id":"gz"}'), "application/json",
                           headers={"content-encoding": "gzip"})
    assert status == 200 and json.loads(body)["nodeId"] == "gz"
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b"x", "application/json", headers={"content-encoding": "br"})
    assert status == 501 and "br" in json.loads(body)["message"]


def test_huge_timeouts_do_not_overflow_the_deadline_timer(server):
    """grpc-timeout 99999999H (~11,000 years) and the largest connect-timeout-ms saturate."""
    request = envelope(session_pb2.CreateSessionRequest(node_id="t").SerializeToString())
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", request, "application/grpc-web+proto",
                           headers={"grpc-timeout": "99999999H"})
    assert status == 200 and grpc_web_trailers(envelopes(body)[-1][1])["grpc-status"] == "0"
    status, _, _ = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"t"}', "application/json",
                        headers={"connect-timeout-ms": "9999999999"})
    assert status == 200
    assert create_session_json(server)


def test_connect_timeout_header_is_validated(server):
    for value in ("abc", "12345678901", "-5"):
        status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"t"}', "application/json",
                               headers={"connect-timeout-ms": value})
        assert status == 400 and "connect-timeout-ms" in json.loads(body)["message"]


def test_unknown_method_is_unimplemented(server):
    status, _, body = post(server, "/kato.v2.SessionService/Nope", b"{}", "application/json")
    assert status == 501 and json.loads(body)["code"] == "unimplemented"


def test_streaming_requests_are_refused_with_a_clear_message(server):
    status, _, body = post(server, "/kato.v2.ObserveService/ObserveStream", b"{}", "application/json")
    assert status == 501
    assert "HTTP/2" in json.loads(body)["message"]
    status, headers, body = post(server, "/kato.v2.ObserveService/ObserveStream", envelope(b""), "application/grpc-web+proto")
    trailers = grpc_web_trailers(envelopes(body)[-1][1])
    assert trailers["grpc-status"] == "12" and "HTTP/2" in trailers["grpc-message"]


def test_not_a_call_gets_a_plain_http_answer(server):
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b"{}", "text/plain")
    assert status == 415 and b"gRPC-Web" in body
    status, _, body = post(server, "/", None, "application/json", method="GET")
    assert status == 405


def test_oversized_body_is_resource_exhausted_and_the_server_serves_on(server):
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", b" " * (6 * 1024 * 1024), "application/json")
    assert status == 429 and json.loads(body)["code"] == "resource_exhausted"
    assert create_session_json(server)


# MARK: Connect server streaming


def test_connect_server_streaming_delivers_updates_and_ends_with_deadline(server):
    sid = create_session_json(server)
    request = json.dumps({"sessionId": sid, "sendInitial": True}).encode()
    result = {}
    subscribed = metric(http_get(server, "/metrics")[2], "kato_subscribers_active")

    def subscribe():
        result["reply"] = post(server, "/kato.v2.PredictService/SubscribePredictions", envelope(request), "application/connect+json",
                               headers={"connect-timeout-ms": "8000"})

    t = threading.Thread(target=subscribe)
    t.start()
    # Observe only once the server holds the subscription: before, the change would be folded into
    # the INITIAL update (one update, not two). The deadline leaves a loaded machine seconds for this.
    deadline = time.time() + 5
    while metric(http_get(server, "/metrics")[2], "kato_subscribers_active") <= subscribed:
        assert time.time() < deadline and t.is_alive(), "the subscription was never registered"
        time.sleep(0.02)
    post(server, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": sid, "strings": ["x"]}), "application/json")
    t.join(30)
    status, headers, body = result["reply"]
    assert status == 200 and headers["content-type"] == "application/connect+json"
    frames = envelopes(body)
    updates = [json.loads(p) for f, p in frames if f == 0]
    assert [u["sessionId"] for u in updates] == [sid] * len(updates) and len(updates) >= 2
    assert updates[-1]["stm"] == [{"symbols": ["x"]}]
    flags, end = frames[-1]
    assert flags == 0x02
    assert json.loads(end)["error"]["code"] == "deadline_exceeded"


# MARK: gRPC-Web, binary and text


def test_grpc_web_binary_unary(server):
    request = envelope(session_pb2.CreateSessionRequest(node_id="gw").SerializeToString())
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", request, "application/grpc-web+proto",
                                 headers={"x-grpc-web": "1"})
    assert status == 200 and headers["content-type"] == "application/grpc-web+proto"
    frames = envelopes(body)
    assert [f for f, _ in frames] == [0, 0x80]
    assert session_pb2.Session.FromString(frames[0][1]).node_id == "gw"
    trailers = grpc_web_trailers(frames[1][1])
    assert trailers["grpc-status"] == "0" and trailers["x-trace-id"]


def test_grpc_web_text_unary_and_error(server):
    request = base64.b64encode(envelope(session_pb2.CreateSessionRequest(node_id="gwt").SerializeToString()))
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", request, "application/grpc-web-text")
    assert status == 200 and headers["content-type"] == "application/grpc-web-text+proto"
    decoded = b"".join(base64.b64decode(chunk + b"=" * (-len(chunk) % 4)) for chunk in body.replace(b"=", b"=\n").split())
    frames = envelopes(decoded)
    assert session_pb2.Session.FromString(frames[0][1]).node_id == "gwt"
    # An error: Trailers in the body, with the rich details gRPC carries.
    request = base64.b64encode(envelope(session_pb2.GetSessionRequest(session_id="missing").SerializeToString()))
    status, _, body = post(server, "/kato.v2.SessionService/GetSession", request, "application/grpc-web-text")
    frames = envelopes(base64.b64decode(body))
    assert [f for f, _ in frames] == [0x80]
    trailers = grpc_web_trailers(frames[0][1])
    assert trailers["grpc-status"] == "5"
    details = status_pb2.Status.FromString(base64.b64decode(trailers["grpc-status-details-bin"] + "=="))
    assert details.code == 5 and details.details


def test_grpc_web_malformed_bodies_are_refused(server):
    for body, ctype in ((b"\x00\x00\x00\x00\x09abc", "application/grpc-web+proto"), (b"!!!!", "application/grpc-web-text"),
                        (envelope(b"") + envelope(b""), "application/grpc-web+proto"), (b"", "application/grpc-web+proto")):
        status, _, reply = post(server, "/kato.v2.SessionService/CreateSession", body, ctype)
        assert status == 200
        trailers = grpc_web_trailers(envelopes(reply if ctype.endswith("proto") else base64.b64decode(reply))[-1][1])
        assert trailers["grpc-status"] in ("3", "12"), (body, trailers)


# MARK: the same calls over HTTP/2 (h2c with prior knowledge; browsers under TLS negotiate h2)


def h2_call(server, path, body, content_type, extra=(), method="POST", timeout=10):
    conn = Connection(server.port)
    try:
        sid = conn.send_request(path, body, extra=[*AUTH.items(), *extra], content_type=content_type, method=method)
        assert conn.wait_streams(sid, timeout=timeout), "stream did not end"
        return conn.streams[sid]
    finally:
        conn.close()


def test_connect_json_unary_over_http2_ends_without_trailers(server):
    result = h2_call(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"h2"}', "application/json")
    assert len(result.header_blocks) == 1, "Connect unary has no HTTP trailers"
    assert result.headers[":status"] == "200" and result.headers["content-type"] == "application/json"
    assert result.headers["content-length"] == str(len(result.data))
    assert json.loads(result.data)["nodeId"] == "h2" and result.headers["trailer-x-trace-id"]


def test_connect_error_over_http2(server):
    result = h2_call(server, "/kato.v2.SessionService/GetSession", b'{"session_id":"none"}', "application/json")
    assert result.headers[":status"] == "404" and json.loads(result.data)["code"] == "not_found"


def test_grpc_web_server_streaming_over_http2(server):
    sid = create_session_json(server)
    request = envelope(predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True).SerializeToString())
    result = h2_call(server, "/kato.v2.PredictService/SubscribePredictions", request, "application/grpc-web+proto",
                     extra=[("grpc-timeout", "3S")])  # time for the INITIAL update on a loaded machine
    assert len(result.header_blocks) == 1 and result.headers["content-type"] == "application/grpc-web+proto"
    frames = envelopes(result.data)
    assert predict_pb2.PredictionUpdate.FromString(frames[0][1]).session_id == sid
    assert frames[-1][0] == 0x80 and grpc_web_trailers(frames[-1][1])["grpc-status"] == "4"


def test_cors_preflight_over_http2(server):
    result = h2_call(server, "/kato.v2.SessionService/CreateSession", None, "application/json", method="OPTIONS",
                     extra=[("origin", ORIGIN), ("access-control-request-method", "POST")])
    assert result.headers[":status"] == "204" and result.headers["access-control-allow-origin"] == ORIGIN


# MARK: CORS


def test_cors_preflight_for_an_allowed_origin(server):
    status, headers, _ = post(server, "/kato.v2.SessionService/CreateSession", None, "application/json", method="OPTIONS",
                              headers={"origin": ORIGIN, "access-control-request-method": "POST",
                                       "access-control-request-headers": "content-type,authorization,connect-protocol-version"})
    assert status == 204
    assert headers["access-control-allow-origin"] == ORIGIN
    assert "authorization" in headers["access-control-allow-headers"]
    assert "POST" in headers["access-control-allow-methods"]


def test_cors_preflight_for_another_origin_is_forbidden(server):
    status, headers, _ = post(server, "/kato.v2.SessionService/CreateSession", None, "application/json", method="OPTIONS",
                              headers={"origin": "https://evil.example", "access-control-request-method": "POST"})
    assert status == 403 and "access-control-allow-origin" not in headers


def test_cors_headers_on_a_call_expose_grpc_web_trailers_and_metadata(server):
    status, headers, _ = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"c"}', "application/json",
                              headers={"origin": ORIGIN})
    assert status == 200 and headers["access-control-allow-origin"] == ORIGIN
    exposed = {h.strip() for h in headers["access-control-expose-headers"].split(",")}
    assert {"grpc-status", "grpc-message", "trailer-x-trace-id"} <= exposed


# MARK: real clients: curl, buf curl, connectrpc


def test_plain_curl_connect_json(server):
    if not shutil.which("curl"):
        unavailable("curl is not installed (scripts/install-deps installs it)")
    out = subprocess.run(["curl", "-sS", "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {KEY}",
                          "-d", '{"node_id":"n1"}', f"http://{server.address}/kato.v2.SessionService/CreateSession"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["nodeId"] == "n1"


def buf_binary():
    path = shutil.which("buf") or str(ROOT / ".venv/bin/buf")
    return path if shutil.os.path.exists(path) else None


@pytest.mark.parametrize("protocol,http2", [("connect", False), ("grpcweb", False), ("connect", True), ("grpcweb", True),
                                             ("grpc", True)])
def test_buf_curl_in_each_protocol(server, protocol, http2):
    buf = buf_binary()
    if not buf:
        unavailable("buf is not installed (pip buf-bin, from Tests/python/requirements.txt)")
    args = [buf, "curl", "--schema", str(ROOT / "proto"), "--protocol", protocol, "-H", f"Authorization: Bearer {KEY}",
            "-d", '{"node_id":"buf"}', f"http://{server.address}/kato.v2.SessionService/CreateSession"]
    if http2:
        args.insert(2, "--http2-prior-knowledge")
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, env={**shutil.os.environ, "BUF_CACHE_DIR": "/tmp/kato-buf-cache"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["nodeId"] == "buf"


def connect_clients():
    try:
        from connect_pb.kato.v2 import predict_connect, session_connect  # noqa: F401
        from connectrpc.protocol import ProtocolType  # noqa: F401
        return session_connect, predict_connect
    except ImportError as e:
        unavailable(f"the Connect Python client is not installed ({e}; Tests/python/requirements.txt pins it)")


@pytest.mark.parametrize("protocol", ["CONNECT", "GRPC_WEB"])
@pytest.mark.parametrize("codec", ["proto", "json"])
def test_connectrpc_client_unary_and_server_streaming(server, protocol, codec):
    session_connect, predict_connect = connect_clients()
    from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
    from connectrpc.errors import ConnectError
    from connectrpc.code import Code
    from connectrpc.protocol import ProtocolType
    options = {"protocol": getattr(ProtocolType, protocol),
               "codec": google_protobuf_json_codec() if codec == "json" else google_protobuf_binary_codec()}
    url = f"http://{server.address}"
    with session_connect.SessionServiceClientSync(url, **options) as sessions, \
            predict_connect.PredictServiceClientSync(url, **options) as predict:
        session = sessions.create_session(session_pb2.CreateSessionRequest(node_id="cx"), headers=AUTH)
        assert session.node_id == "cx"
        with pytest.raises(ConnectError) as e:
            sessions.get_session(session_pb2.GetSessionRequest(session_id="missing"), headers=AUTH)
        assert e.value.code == Code.NOT_FOUND
        stream = predict.subscribe_predictions(
            predict_pb2.SubscribePredictionsRequest(session_id=session.session_id, send_initial=True), headers=AUTH, timeout_ms=10000)
        first = next(iter(stream))
        assert first.session_id == session.session_id


def test_grpc_still_served_on_the_same_port(server):
    with grpc.insecure_channel(server.address) as channel:
        session = session_pb2_grpc.SessionServiceStub(channel).CreateSession(
            session_pb2.CreateSessionRequest(node_id="h2"), metadata=tuple(AUTH.items()))
    assert session.node_id == "h2"


@pytest.mark.parametrize("http_version", ["--http1.1", "--http2"])
def test_connect_over_tls_with_alpn(binaries, tmp_path_factory, http_version):
    """Browsers reach a TLS server with ALPN: h2 (the web protocols on HTTP/2 streams) or http/1.1."""
    if not shutil.which("curl"):
        unavailable("curl is not installed (scripts/install-deps installs it)")
    pki = make_pki(tmp_path_factory.mktemp("web-pki"))
    s = start_kato_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]), env=MEM)
    try:
        out = subprocess.run(["curl", "-sS", http_version, "--cacert", str(pki["ca_pem"]), "-w", "\n%{http_version}",
                              "-H", "Content-Type: application/json", "-d", '{"node_id":"tls"}',
                              f"https://localhost:{s.port}/kato.v2.SessionService/CreateSession"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        body, version = out.stdout.rsplit("\n", 1)
        assert json.loads(body)["nodeId"] == "tls"
        assert version == ("2" if http_version == "--http2" else "1.1")
    finally:
        s.stop()


# MARK: hostile HTTP/1.1 clients


def raw_exchange(server, data, read_until=b"", timeout=5):
    """Sends raw bytes on a new connection; reads until `read_until` is seen or the peer closes."""
    import socket
    host, port = server.address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        got = b""
        try:
            while read_until not in got or not read_until:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                got += chunk
        except (TimeoutError, ConnectionResetError):
            pass  # the server closed on a request it refused: what was read is the answer
        return got


def request_bytes(path, body, content_type="application/json"):
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\nAuthorization: Bearer {KEY}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


def test_pipelined_requests_are_answered_in_order(server):
    data = b"".join(request_bytes("/kato.v2.SessionService/CreateSession", json.dumps({"nodeId": f"p{i}"}).encode())
                    for i in range(3))
    got = raw_exchange(server, data, read_until=b'"nodeId":"p2"')
    assert got.count(b"HTTP/1.1 200 OK") == 3
    assert got.index(b'"nodeId":"p0"') < got.index(b'"nodeId":"p1"') < got.index(b'"nodeId":"p2"')


def test_garbage_and_smuggling_attempts_get_400_and_the_server_serves_on(server):
    for data in (b"\x16\x03\x01\x00\xa5garbage-not-http\r\n\r\n",
                 b"POST /kato.v2.SessionService/CreateSession HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                 b"POST / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n"):
        got = raw_exchange(server, data)
        assert got == b"" or got.startswith(b"HTTP/1.1 4"), got[:200]
    assert create_session_json(server)


def test_a_subscriber_that_goes_away_is_unsubscribed(server):
    import socket
    sid = create_session_json(server)
    host, port = server.address.rsplit(":", 1)
    body = envelope(json.dumps({"sessionId": sid, "sendInitial": True}).encode())
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request_bytes("/kato.v2.PredictService/SubscribePredictions", body, "application/connect+json"))
        assert b"HTTP/1.1 200 OK" in sock.recv(65536)
        admin_address(server)
        assert metric(http_get(server, "/metrics")[2], "kato_subscribers_active") >= 1
    deadline = time.time() + 30
    while metric(http_get(server, "/metrics")[2], "kato_subscribers_active") > 0 and time.time() < deadline:
        time.sleep(0.1)
    assert metric(http_get(server, "/metrics")[2], "kato_subscribers_active") == 0


def test_slow_headers_and_idle_http1_connections_are_closed(binaries):
    import socket
    s = start_kato_server(binaries, "--web-request-timeout", "1", env=MEM)
    try:
        host, port = s.address.rsplit(":", 1)
        slow = socket.create_connection((host, int(port)), timeout=10)
        idle = socket.create_connection((host, int(port)), timeout=10)
        silent = socket.create_connection((host, int(port)), timeout=10)  # not even a protocol's first bytes
        half_preface = socket.create_connection((host, int(port)), timeout=10)
        half_preface.sendall(b"PRI * HTTP/2.0\r\n")
        slow.sendall(b"POST /kato.v2.SessionService/CreateSession HTTP/1.1\r\nHost: x\r\n")  # and never the rest
        idle.sendall(request_bytes("/kato.v2.SessionService/CreateSession", b'{"node_id":"i"}'))
        assert b"200 OK" in idle.recv(65536)  # answered; then the connection idles
        started = time.time()
        for sock in (slow, idle, silent, half_preface):
            assert sock.recv(1) == b"", "the server closes the connection"
        assert time.time() - started < 8, "closed by the 1 s timeout, not by the sockets' own 10 s"
        # A client that keeps sending whole requests in time keeps its connection (longer than the
        # timeout in all, 0.3 s between requests: 0.7 s of margin for a loaded machine).
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        for _ in range(6):
            conn.request("POST", "/kato.v2.SessionService/CreateSession", body=b'{"node_id":"k"}',
                         headers={"content-type": "application/json"})
            assert conn.getresponse().read()
            time.sleep(0.3)
        conn.close()
    finally:
        s.stop()


def test_shutdown_is_not_held_by_silent_or_idle_web_connections(binaries):
    import signal
    import socket
    s = start_kato_server(binaries, env=MEM)
    host, port = s.address.rsplit(":", 1)
    silent = socket.create_connection((host, int(port)), timeout=5)
    idle = socket.create_connection((host, int(port)), timeout=5)
    idle.sendall(request_bytes("/kato.v2.SessionService/CreateSession", b'{"node_id":"i"}'))
    assert b"200 OK" in idle.recv(65536)
    started = time.time()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=20) == 0
    assert time.time() - started < 8, "the web connections did not hold the shutdown"
    assert silent.recv(1) == b"" and idle.recv(1) == b""
    s.stop()


def test_access_log_names_the_protocol_of_each_call(binaries):
    s = start_kato_server(binaries, "--log-level", "info", env=MEM)
    try:
        post(s, "/kato.v2.SessionService/CreateSession", b'{"node_id":"log"}', "application/json")
        post(s, "/kato.v2.SessionService/CreateSession",
             envelope(session_pb2.CreateSessionRequest(node_id="log").SerializeToString()), "application/grpc-web+proto")
        with grpc.insecure_channel(s.address) as channel:
            session_pb2_grpc.SessionServiceStub(channel).CreateSession(session_pb2.CreateSessionRequest(node_id="log"))
    finally:
        s.stop()
    lines = [l for l in s.proc.stderr.read().splitlines() if "method=/kato.v2.SessionService/CreateSession" in l]
    assert sorted(l.split(" protocol=", 1)[1].split(" ", 1)[0] for l in lines) == ["connect", "grpc", "grpc-web"], lines


def test_web_protocols_can_be_turned_off(binaries):
    s = start_kato_server(binaries, "--web-protocols", "false", env=MEM)
    try:
        host, port = s.address.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        with pytest.raises((http.client.HTTPException, ConnectionError, OSError)):
            conn.request("POST", "/kato.v2.SessionService/CreateSession", body=b"{}", headers={"content-type": "application/json"})
            conn.getresponse().read()
    finally:
        s.stop()
