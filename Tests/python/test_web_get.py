"""GET on the gRPC port, over HTTP/1.1 and HTTP/2 alike (h2c with prior knowledge, and TLS where
ALPN picks h2, as browsers do), with real clients: plain curl, the connectrpc Python client
(`use_get`), raw HTTP/2 frames.

- The web console's GET routes (page, assets, status.json) answer with the same status, fields
  (CSP, caching, content types, gzip), auth and 404/405 forms on both transports.
- Connect GET (`?connect=v1&encoding=…&message=…[&base64=1][&compression=gzip]`) calls the unary
  methods kato.v2 declares `idempotency_level = NO_SIDE_EFFECTS`, through the same interceptors as
  a POST (auth, metrics with the protocol label), with caching fields and 304 on If-None-Match;
  a method with side effects is 405 `Allow: POST` and changes nothing.
- The session rate limit and the access log see Connect GETs like any call.
- A GET answered slowly when the server is told to stop is answered before its connection closes;
  one still unanswered at the end of the grace period is cut, on both transports.
"""
import base64
import gzip
import json
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import grpc
import pytest

from kato_client._pb.google.rpc import error_details_pb2
from kato_client._pb.kato.v2 import knowledge_pb2, session_pb2

from conftest import ROOT, start_echo_server, start_kato_server, unavailable
from grpch2_support import echo_stub, make_pki, start_delayed
from h2_raw import Connection
from security_support import MEM, http_get, metric

KEY = "get-key-1"
AUTH = {"authorization": f"Bearer {KEY}"}
ASSETS = ROOT / "Sources/KatoServer/Console/Assets"
NODE = "get-node"
# The fields every console response carries, compared across transports.
CONSOLE_FIELDS = ("content-type", "content-security-policy", "x-content-type-options", "referrer-policy",
                  "x-frame-options", "cache-control", "vary")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("get-pki"))


@pytest.fixture(scope="module")
def servers(binaries, tmp_path_factory, pki):
    """A plaintext server and a TLS one, with API keys; one pattern learned on NODE."""
    if not shutil.which("curl"):
        unavailable("curl is not installed (scripts/install-deps installs it)")
    keyfile = tmp_path_factory.mktemp("get") / "keys.json"
    keyfile.write_text(json.dumps([{"principal": "get-user", "key": KEY, "roles": ["admin"], "nodes": ["*"]}]))
    plain = start_kato_server(binaries, "--auth-keys", str(keyfile), env=MEM)
    tls = start_kato_server(binaries, "--auth-keys", str(keyfile), "--tls-cert", str(pki["server_pem"]),
                            "--tls-key", str(pki["server_key"]), env=MEM)
    for server in (plain, tls):
        sid = call(server, "/kato.v2.SessionService/CreateSession", {"nodeId": NODE}, pki)["sessionId"]
        for events in (["a", "b"], ["c"]):
            call(server, "/kato.v2.ObserveService/Observe", {"sessionId": sid, "strings": events}, pki)
        call(server, "/kato.v2.ObserveService/Learn", {"sessionId": sid}, pki)
    yield {"plain": plain, "tls": tls}
    plain.stop()
    tls.stop()


# (curl's flag, which server, the HTTP version curl must report)
TRANSPORTS = {"http1.1": ("--http1.1", "plain", "1.1"), "h2c": ("--http2-prior-knowledge", "plain", "2"),
              "tls-h2": ("--http2", "tls", "2"), "tls-http1.1": ("--http1.1", "tls", "1.1")}


def curl(servers, pki, transport, path, *args, auth=True):
    """One request with curl: (status, headers of the last response, body, HTTP version)."""
    flag, which, _ = TRANSPORTS[transport]
    server = servers[which]
    base = f"https://localhost:{server.port}" if which == "tls" else f"http://{server.address}"
    cmd = ["curl", "-sS", flag, "-D", "-", "-o", "/dev/stderr", "-w", "\n%{http_code} %{http_version}"]
    if which == "tls":
        cmd += ["--cacert", str(pki["ca_pem"])]
    if auth:
        cmd += ["-H", f"Authorization: Bearer {KEY}"]
    out = subprocess.run(cmd + list(args) + [base + path], capture_output=True, timeout=30)
    assert out.returncode == 0, out.stderr
    head, _, tail = out.stdout.rpartition(b"\n")
    status, version = tail.decode().split()
    headers = {}
    for line in head.decode("latin-1").split("\r\n"):
        if line.startswith("HTTP/"):
            headers = {}  # only the last response's fields
        elif ": " in line:
            name, value = line.split(": ", 1)
            headers[name.lower()] = value
    return int(status), headers, out.stderr, version


def call(server, path, message, pki=None):
    """A Connect JSON POST over HTTP/1.1 (setup), its decoded answer."""
    tls = "--tls-cert" in server.args
    url = f"https://localhost:{server.port}{path}" if tls else f"http://{server.address}{path}"
    out = subprocess.run(["curl", "-sS", "--http1.1", "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {KEY}",
                          *(["--cacert", str(pki["ca_pem"])] if tls else []), "-d", json.dumps(message), url],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# MARK: GET routes (the console) on both transports


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_console_routes_answer_alike_on_every_transport(servers, pki, transport):
    reference = curl(servers, pki, "http1.1", "/console/")
    status, headers, body, version = curl(servers, pki, transport, "/console/")
    assert version == TRANSPORTS[transport][2]
    assert status == 200 and body == (ASSETS / "index.html").read_bytes()
    assert {k: headers.get(k) for k in CONSOLE_FIELDS} == {k: reference[1].get(k) for k in CONSOLE_FIELDS}
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["content-type"].startswith("text/html") and headers["content-length"] == str(len(body))
    # gzip when asked (the script is well over the 1 KiB threshold); curl undoes it.
    status, headers, body, _ = curl(servers, pki, transport, "/console/console.js", "--compressed")
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["vary"] == "accept-encoding"
    assert headers["content-type"].startswith("text/javascript") and body == (ASSETS / "console.js").read_bytes()
    status, headers, body, _ = curl(servers, pki, transport, "/console/console.css")
    assert status == 200 and "content-encoding" not in headers and body == (ASSETS / "console.css").read_bytes()
    status, headers, _, _ = curl(servers, pki, transport, "/console/", "-I")  # HEAD (curl prints its head as the body)
    assert status == 200 and headers["content-length"] == str(len((ASSETS / "index.html").read_bytes()))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_console_redirect_404_405_and_auth_are_the_same_on_every_transport(servers, pki, transport):
    status, headers, _, _ = curl(servers, pki, transport, "/console")
    assert status == 308 and headers["location"] == "/console/"
    status, _, body, _ = curl(servers, pki, transport, "/console/missing.js")
    assert status == 404 and body == b"not found\n"
    status, headers, body, _ = curl(servers, pki, transport, "/nothing/here")
    assert status == 405 and headers["content-type"].startswith("text/plain") and b"calls are POST requests" in body
    status, _, body, _ = curl(servers, pki, transport, "/console/status.json", auth=False)
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"
    status, headers, body, _ = curl(servers, pki, transport, "/console/status.json")
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["sessions_active"] >= 1


def test_console_route_over_raw_http2_frames_ends_the_stream_with_its_data(servers):
    conn = Connection(servers["plain"].port)
    try:
        sid = conn.send_request("/console/index.html", None, content_type="text/html", method="GET")
        assert conn.wait_streams(sid, timeout=10), "stream did not end"
        result = conn.streams[sid]
        assert result.headers[":status"] == "200" and result.data == (ASSETS / "index.html").read_bytes()
        assert len(result.header_blocks) == 1, "a GET route's response has no trailers"
        head = conn.send_request("/console/", None, content_type="text/html", method="HEAD")
        assert conn.wait_streams(head, timeout=10)
        assert conn.streams[head].data == b"" and conn.streams[head].headers["content-length"] == str(len(result.data))
    finally:
        conn.close()


# MARK: Connect GET


def get_query(message, encoding="json", **extra):
    return "?" + urllib.parse.urlencode({"connect": "v1", "encoding": encoding, "message": message, **extra})


def list_patterns_json(servers, pki, transport, *args, **query):
    return curl(servers, pki, transport, "/kato.v2.KnowledgeBaseService/ListPatterns"
                + get_query(json.dumps({"nodeId": NODE}), **query), *args)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_connect_get_json_answers_as_the_post_does_with_caching_fields(servers, pki, transport):
    posted = call(servers["plain"], "/kato.v2.KnowledgeBaseService/ListPatterns", {"nodeId": NODE})
    status, headers, body, _ = list_patterns_json(servers, pki, transport)
    assert status == 200 and headers["content-type"] == "application/json", body
    got = json.loads(body)
    assert [p["name"] for p in got["patterns"]] == [p["name"] for p in posted["patterns"]] and len(got["patterns"]) == 1
    assert headers["cache-control"] == "private, no-cache" and headers["vary"] == "accept-encoding"
    assert headers["etag"].startswith('"') and headers["content-length"] == str(len(body))
    # Revalidation: the same bytes are a 304 with no body.
    status, again, body, _ = list_patterns_json(servers, pki, transport, "-H", f"If-None-Match: {headers['etag']}")
    assert status == 304 and body == b"" and again["etag"] == headers["etag"]
    status, _, body, _ = list_patterns_json(servers, pki, transport, "-H", 'If-None-Match: "0000000000000000"')
    assert status == 200 and json.loads(body) == got


@pytest.mark.parametrize("transport", ["http1.1", "h2c", "tls-h2"])
def test_connect_get_proto_base64_gzip(servers, pki, transport):
    request = knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=NODE).SerializeToString()
    packed = base64.urlsafe_b64encode(gzip.compress(request)).rstrip(b"=").decode()
    status, headers, body, _ = curl(servers, pki, transport, "/kato.v2.KnowledgeBaseService/GetKnowledgeBaseStatistics"
                                    + get_query(packed, encoding="proto", base64="1", compression="gzip"))
    assert status == 200 and headers["content-type"] == "application/proto", body
    stats = knowledge_pb2.KnowledgeBaseStatistics.FromString(body)
    assert stats.pattern_count == 1 and stats.symbol_count == 3


def test_plain_curl_get_as_the_connect_docs_show_it(servers):
    """`curl --get --data-urlencode` (README example): no connect=v1, spaces in the JSON."""
    out = subprocess.run(["curl", "-sS", "--get", "-H", f"Authorization: Bearer {KEY}", "--data-urlencode", "encoding=json",
                          "--data-urlencode", 'message={"node_id": "' + NODE + '"}',
                          f"http://{servers['plain'].address}/kato.v2.KnowledgeBaseService/GetKnowledgeBaseStatistics"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["patternCount"] == "1"


@pytest.mark.parametrize("transport", ["http1.1", "h2c"])
def test_connect_get_needs_credentials_like_a_post(servers, pki, transport):
    status, headers, body, _ = curl(servers, pki, transport, "/kato.v2.SessionService/CountSessions" + get_query("{}"), auth=False)
    assert status == 401 and json.loads(body)["code"] == "unauthenticated"
    assert headers["cache-control"] == "no-store" and "etag" not in headers


@pytest.mark.parametrize("transport", ["http1.1", "h2c"])
def test_get_of_a_method_with_side_effects_is_405_and_changes_nothing(servers, pki, transport):
    def count():
        status, _, body, _ = curl(servers, pki, transport, "/kato.v2.SessionService/CountSessions" + get_query("{}"))
        assert status == 200, body
        return int(json.loads(body).get("count", "0"))
    before = count()
    status, headers, body, _ = curl(servers, pki, transport, "/kato.v2.SessionService/CreateSession"
                                    + get_query(json.dumps({"nodeId": NODE})))
    assert status == 405 and headers["allow"] == "POST"
    error = json.loads(body)
    assert error["code"] == "unimplemented" and "NO_SIDE_EFFECTS" in error["message"] and "POST" in error["message"]
    assert count() == before


@pytest.mark.parametrize("transport", ["http1.1", "h2c"])
@pytest.mark.parametrize("path,query,status,code,words", [
    ("/kato.v2.SessionService/CountSessions", "?connect=v1&message=%7B%7D", 400, "invalid_argument", "encoding=json"),
    ("/kato.v2.SessionService/CountSessions", "?encoding=xml&message=x", 400, "invalid_argument", "encoding=xml"),
    ("/kato.v2.SessionService/CountSessions", "?connect=v2&encoding=json&message=%7B%7D", 400, "invalid_argument", "v1"),
    ("/kato.v2.SessionService/CountSessions", "?encoding=proto&base64=1&message=%25%25", 400, "invalid_argument", "base64"),
    ("/kato.v2.SessionService/CountSessions", "?encoding=json&message=%7Bnope", 400, "invalid_argument", "JSON"),
    ("/kato.v2.SessionService/CountSessions", "?encoding=json&message=%7B%7D&compression=br", 501, "unimplemented", "br"),
    ("/kato.v2.PredictService/SubscribePredictions", "?encoding=json&message=%7B%7D", 501, "unimplemented", "unary"),
])
def test_bad_connect_gets_are_clear_errors(servers, pki, transport, path, query, status, code, words):
    got, headers, body, _ = curl(servers, pki, transport, path + query)
    error = json.loads(body)
    assert (got, error["code"]) == (status, code) and words in error["message"], error
    assert headers["cache-control"] == "no-store"


def test_connect_get_counts_in_the_metrics_as_connect(servers, pki):
    server = servers["plain"]
    labels = {"grpc_service": "kato.v2.SessionService", "grpc_method": "CountSessions", "protocol": "connect"}
    before = http_get(server, "/metrics")[2]
    for transport in ("http1.1", "h2c"):
        assert curl(servers, pki, transport, "/kato.v2.SessionService/CountSessions" + get_query("{}"))[0] == 200
    assert curl(servers, pki, "h2c", "/kato.v2.SessionService/CountSessions" + get_query("{}"), auth=False)[0] == 401
    after = http_get(server, "/metrics")[2]

    def delta(name, **extra):
        return metric(after, name, **labels, **extra) - metric(before, name, **labels, **extra)
    assert delta("grpc_server_handled_total", grpc_code="OK") == 2
    assert delta("grpc_server_handled_total", grpc_code="Unauthenticated") == 1


@pytest.mark.parametrize("codec", ["proto", "json"])
def test_connectrpc_client_calls_side_effect_free_methods_with_get(servers, codec):
    try:
        from connect_pb.kato.v2 import knowledge_connect, session_connect
        from connectrpc.compat import google_protobuf_binary_codec, google_protobuf_json_codec
        from connectrpc.errors import ConnectError
        from connectrpc.code import Code
        from connectrpc._response_metadata import ResponseMetadata
    except ImportError as e:
        unavailable(f"the Connect Python client is not installed ({e}; Tests/python/requirements.txt pins it)")
    options = {"codec": google_protobuf_json_codec() if codec == "json" else google_protobuf_binary_codec()}
    url = f"http://{servers['plain'].address}"
    with knowledge_connect.KnowledgeBaseServiceClientSync(url, **options) as kb, \
            session_connect.SessionServiceClientSync(url, **options) as sessions:
        posted = kb.list_patterns(knowledge_pb2.ListPatternsRequest(node_id=NODE), headers=AUTH)
        with ResponseMetadata() as meta:
            got = kb.list_patterns(knowledge_pb2.ListPatternsRequest(node_id=NODE), headers=AUTH, use_get=True)
        assert got == posted and len(got.patterns) == 1
        assert meta.headers.get("etag") and meta.headers.get("cache-control") == "private, no-cache", "it was a GET"
        with pytest.raises(ConnectError) as e:
            sessions.get_session(session_pb2.GetSessionRequest(session_id="missing"), headers=AUTH, use_get=True)
        assert e.value.code == Code.NOT_FOUND


# MARK: a GET in flight at shutdown


@pytest.fixture()
def slow_echo(binaries):
    server = start_echo_server(binaries, "--web")
    yield server
    if server.proc.poll() is None:
        server.stop()


def in_flight(server, send):
    """send() (a /slow/ GET), back once the server runs its route: a SIGTERM before the server
    read the request would refuse it instead of answering it. (The GETs last 4 s: still in flight
    when the signal comes however slowly a loaded machine polls, and done within the 10 s grace.)"""
    with grpc.insecure_channel(server.address) as ch:
        return start_delayed(echo_stub(ch), send)


def test_http1_get_in_flight_at_shutdown_is_answered_then_the_connection_closes(slow_echo):
    with socket.create_connection(("127.0.0.1", slow_echo.port), timeout=10) as s:
        in_flight(slow_echo, lambda: s.sendall(b"GET /slow/?ms=4000 HTTP/1.1\r\nHost: x\r\n\r\n"))
        slow_echo.proc.send_signal(signal.SIGTERM)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200") and data.endswith(b"slow 4000\n"), data
    assert b"connection: close" in data.lower()
    assert slow_echo.proc.wait(timeout=30) == 0


def test_http2_get_in_flight_at_shutdown_is_answered(slow_echo):
    conn = Connection(slow_echo.port)
    try:
        sid = in_flight(slow_echo, lambda: conn.send_request("/slow/?ms=4000", None, content_type="text/plain", method="GET"))
        slow_echo.proc.send_signal(signal.SIGTERM)
        assert conn.wait_streams(sid, timeout=30), "stream did not end"
        assert conn.streams[sid].headers[":status"] == "200" and conn.streams[sid].data == b"slow 4000\n"
    finally:
        conn.close()
    assert slow_echo.proc.wait(timeout=30) == 0


@pytest.mark.parametrize("http2", [False, True])
def test_a_get_still_unanswered_at_the_end_of_the_grace_period_is_cut(binaries, http2):
    """The grace period bounds a shutdown on both transports: a GET route that has not answered
    by then loses its connection, and the server exits."""
    server = start_echo_server(binaries, "--web", "--grace-ms", "1000")
    try:
        if http2:
            conn = Connection(server.port)
            sid = in_flight(server, lambda: conn.send_request("/slow/?ms=30000", None, content_type="text/plain", method="GET"))
            start = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            conn.wait_streams(sid, timeout=10)
            assert conn.streams[sid].headers.get(":status") is None, "no answer within the grace period"
            conn.close()
        else:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
                in_flight(server, lambda: s.sendall(b"GET /slow/?ms=30000 HTTP/1.1\r\nHost: x\r\n\r\n"))
                start = time.monotonic()
                server.proc.send_signal(signal.SIGTERM)
                assert s.recv(65536) == b"", "closed without an answer"
        assert server.proc.wait(timeout=30) == 0
        assert time.monotonic() - start < 8  # the 1 s grace period, not the GET's 30 s
    finally:
        if server.proc.poll() is None:
            server.stop()


def test_connect_get_meets_the_rate_limits_and_is_in_the_access_log(binaries):
    """The same interceptors as every call: the session's token bucket refuses the GET past its
    burst (429 resource_exhausted, RATE_LIMITED), and each GET has its access-log line."""
    s = start_kato_server(binaries, "--rate-limit-session-rate", "0.5", "--rate-limit-session-burst", "3",
                          "--log-level", "info", env=MEM)
    try:
        sid = call(s, "/kato.v2.SessionService/CreateSession", {"nodeId": "limited"})["sessionId"]
        url = f"http://{s.address}/kato.v2.ObserveService/GetShortTermMemory" + get_query(json.dumps({"sessionId": sid}))
        statuses, bodies = [], []
        for _ in range(5):
            out = subprocess.run(["curl", "-sS", "-w", "\n%{http_code}", url], capture_output=True, text=True, timeout=30)
            body, status = out.stdout.rsplit("\n", 1)
            statuses.append(int(status))
            bodies.append(body)
        assert 429 in statuses and statuses[0] == 200, statuses
        error = json.loads(bodies[statuses.index(429)])
        info = next(d for d in error["details"] if d["type"] == "google.rpc.ErrorInfo")
        value = info["value"] + "=" * (-len(info["value"]) % 4)
        assert error["code"] == "resource_exhausted"
        assert error_details_pb2.ErrorInfo.FromString(base64.b64decode(value)).reason == "RATE_LIMITED"
    finally:
        s.stop()
    lines = [l for l in s.proc.stderr.read().splitlines() if "method=/kato.v2.ObserveService/GetShortTermMemory" in l]
    assert len(lines) == 5, lines
    assert all("protocol=connect" in l for l in lines) and sum("status=OK" in l for l in lines) == statuses.count(200)
