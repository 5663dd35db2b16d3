"""The web protocols' finer points against a real kato-server: response compression as each
protocol spells it (Connect unary's Content-Encoding, Connect streaming's and gRPC-Web's
per-envelope flag), the `protocol` label on the gRPC metrics, and unknown JSON fields
(refused with the field named by default, skipped with --json-ignore-unknown-fields)."""
import base64
import gzip
import json
import shutil
import subprocess
import time

import grpc
import pytest

from kato_client._pb.google.rpc import error_details_pb2
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, session_pb2_grpc

from conftest import unavailable, start_kato_server
from security_support import MEM, http_get, metric
from test_web_protocols import AUTH, KEY, envelope, envelopes, h2_call, post

# 30 symbols of 60 characters: an STM or a prediction naming them is well over the 1 KiB below
# which responses go uncompressed.
LONG = [f"symbol-{i:02d}-" + "x" * 50 for i in range(30)]


@pytest.fixture(scope="module")
def server(binaries, tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("web-details") / "keys.json"
    keyfile.write_text(json.dumps([{"principal": "web-user", "key": KEY, "roles": ["admin"], "nodes": ["*"]}]))
    s = start_kato_server(binaries, "--auth-keys", str(keyfile), env=MEM)
    yield s
    s.stop()


def session_with_long_stm(server, node="gz"):
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", json.dumps({"nodeId": node}), "application/json")
    assert status == 200, body
    sid = json.loads(body)["sessionId"]
    status, _, body = post(server, "/kato.v2.ObserveService/Observe",
                           json.dumps({"sessionId": sid, "strings": LONG}), "application/json")
    assert status == 200, body
    return sid


def stm_request(sid):
    return json.dumps({"sessionId": sid}).encode()


# MARK: compression


def test_connect_unary_response_is_gzipped_when_the_client_accepts_it(server):
    sid = session_with_long_stm(server)
    status, headers, body = post(server, "/kato.v2.ObserveService/GetShortTermMemory", stm_request(sid), "application/json",
                                 headers={"accept-encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip", headers
    assert int(headers["content-length"]) == len(body)
    stm = json.loads(gzip.decompress(body))
    assert sorted(stm["events"][0]["symbols"]) == sorted(LONG)
    assert len(body) < len(json.dumps(stm)), "gzip made the response no smaller"


def test_connect_unary_response_is_plain_without_accept_encoding_or_when_small(server):
    sid = session_with_long_stm(server)
    status, headers, body = post(server, "/kato.v2.ObserveService/GetShortTermMemory", stm_request(sid), "application/json")
    assert status == 200 and "content-encoding" not in headers
    assert sorted(json.loads(body)["events"][0]["symbols"]) == sorted(LONG)
    # gzip;q=0 refuses gzip (RFC 9110 12.5.3).
    status, headers, _ = post(server, "/kato.v2.ObserveService/GetShortTermMemory", stm_request(sid), "application/json",
                              headers={"accept-encoding": "gzip;q=0, br"})
    assert status == 200 and "content-encoding" not in headers
    # A response under 1 KiB is not worth compressing.
    status, headers, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"small"}', "application/json",
                                 headers={"accept-encoding": "gzip"})
    assert status == 200 and "content-encoding" not in headers and json.loads(body)["nodeId"] == "small"
    assert headers["accept-encoding"] == "gzip", "the server lists what it accepts"


def test_connect_unary_gzip_over_http2(server):
    sid = session_with_long_stm(server, "gz-h2")
    result = h2_call(server, "/kato.v2.ObserveService/GetShortTermMemory", stm_request(sid), "application/json",
                     extra=[("accept-encoding", "gzip, deflate, br")])
    assert result.headers[":status"] == "200" and result.headers["content-encoding"] == "gzip"
    assert result.headers["content-length"] == str(len(result.data))
    assert sorted(json.loads(gzip.decompress(result.data))["events"][0]["symbols"]) == sorted(LONG)


def test_grpc_web_messages_are_gzipped_per_envelope(server):
    sid = session_with_long_stm(server, "gz-web")
    request = envelope(observe_pb2.GetShortTermMemoryRequest(session_id=sid).SerializeToString())
    status, headers, body = post(server, "/kato.v2.ObserveService/GetShortTermMemory", request, "application/grpc-web+proto",
                                 headers={"grpc-accept-encoding": "identity,gzip"})
    assert status == 200 and headers["grpc-encoding"] == "gzip"
    (flags, payload), (trailer_flags, _) = envelopes(body)
    assert flags == 0x01, "a compressed message carries flag 0x01"
    assert trailer_flags == 0x80, "the trailer block stays uncompressed"
    stm = observe_pb2.ShortTermMemory.FromString(gzip.decompress(payload))
    assert sorted(stm.events[0].symbols) == sorted(LONG)


def test_connect_streaming_updates_are_gzipped_per_envelope(server):
    """A subscription's prediction updates naming 30 long symbols arrive compressed."""
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"gz-stream"}', "application/json")
    learner = json.loads(body)["sessionId"]
    for event in (LONG[:15], LONG[15:]):
        assert post(server, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": learner, "strings": event}),
                    "application/json")[0] == 200
    assert post(server, "/kato.v2.ObserveService/Learn", json.dumps({"sessionId": learner}), "application/json")[0] == 200
    assert post(server, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": learner, "strings": LONG[:15]}),
                "application/json")[0] == 200
    request = envelope(json.dumps({"sessionId": learner, "sendInitial": True}).encode())
    status, headers, body = post(server, "/kato.v2.PredictService/SubscribePredictions", request, "application/connect+json",
                                 headers={"connect-accept-encoding": "gzip", "connect-timeout-ms": "1500"})
    assert status == 200 and headers["connect-content-encoding"] == "gzip"
    frames = envelopes(body)
    assert frames[-1][0] == 0x02 and json.loads(frames[-1][1])["error"]["code"] == "deadline_exceeded"
    flags, payload = frames[0]
    assert flags == 0x01
    update = json.loads(gzip.decompress(payload))
    assert any(set(LONG[15:]) <= set(s for e in p.get("future", []) for s in e.get("symbols", []))
               for p in update["predictions"]), "the initial update predicts the learned future"


def test_curl_compressed_and_connectrpc_read_gzipped_responses(server):
    sid = session_with_long_stm(server, "gz-clients")
    if not shutil.which("curl"):
        unavailable("curl is not installed (scripts/install-deps installs it)")
    out = subprocess.run(["curl", "-sS", "--compressed", "-H", "Content-Type: application/json", "-H", f"Authorization: Bearer {KEY}",
                          "-d", json.dumps({"session_id": sid}), f"http://{server.address}/kato.v2.ObserveService/GetShortTermMemory"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert sorted(json.loads(out.stdout)["events"][0]["symbols"]) == sorted(LONG)
    try:
        from connect_pb.kato.v2 import observe_connect
        from connectrpc.protocol import ProtocolType
    except ImportError as e:
        unavailable(f"the Connect Python client is not installed ({e}; Tests/python/requirements.txt pins it)")
    for protocol in (ProtocolType.CONNECT, ProtocolType.GRPC_WEB):
        with observe_connect.ObserveServiceClientSync(f"http://{server.address}", protocol=protocol) as client:
            stm = client.get_short_term_memory(observe_pb2.GetShortTermMemoryRequest(session_id=sid), headers=AUTH)
            assert sorted(stm.events[0].symbols) == sorted(LONG)


# MARK: metrics


def test_grpc_metrics_carry_the_protocol_of_each_call(server):
    labels = {"grpc_service": "kato.v2.SessionService", "grpc_method": "CountSessions"}
    before = http_get(server, "/metrics")[2]
    post(server, "/kato.v2.SessionService/CountSessions", b"{}", "application/json")
    post(server, "/kato.v2.SessionService/CountSessions", envelope(b""), "application/grpc-web+proto")
    with grpc.insecure_channel(server.address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        stub.CountSessions(session_pb2.CountSessionsRequest(), metadata=list(AUTH.items()))
        stub.CountSessions(session_pb2.CountSessionsRequest(), metadata=list(AUTH.items()))
    after = http_get(server, "/metrics")[2]

    def delta(name, **extra):
        return metric(after, name, **labels, **extra) - metric(before, name, **labels, **extra)
    assert delta("grpc_server_handled_total", grpc_code="OK", protocol="connect") == 1
    assert delta("grpc_server_handled_total", grpc_code="OK", protocol="grpc-web") == 1
    assert delta("grpc_server_handled_total", grpc_code="OK", protocol="grpc") == 2
    assert delta("grpc_server_started_total", protocol="connect") == 1
    assert delta("grpc_server_handling_seconds_count", protocol="grpc-web") == 1


# MARK: unknown JSON fields


def test_unknown_json_fields_are_refused_with_the_field_named(server):
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"u","future_field":1}', "application/json")
    error = json.loads(body)
    assert status == 400 and error["code"] == "invalid_argument" and "future_field" in error["message"], error


def test_unknown_json_fields_are_skipped_when_the_server_is_told_to(binaries):
    s = start_kato_server(binaries, "--json-ignore-unknown-fields", "true", env=MEM)
    try:
        status, _, body = post(s, "/kato.v2.SessionService/CreateSession",
                               b'{"node_id":"u","future_field":{"x":[1,2]},"ttlSeconds":60}', "application/json")
        assert status == 200, body
        session = json.loads(body)
        assert session["nodeId"] == "u"
        # Known fields still must have the right type.
        status, _, body = post(s, "/kato.v2.SessionService/CreateSession", b'{"node_id":7}', "application/json")
        assert status == 400 and json.loads(body)["code"] == "invalid_argument"
    finally:
        s.stop()


# MARK: HTTP/1.1 under the HTTP/2 limits


def padded_request(pad):
    path = "/kato.v2.SessionService/CountSessions"
    fields = [("Host", "x"), ("Content-Type", "application/json"), ("Authorization", f"Bearer {KEY}"),
              ("Content-Length", "2"), ("X-Pad", pad)]
    head = f"POST {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields) + "\r\n"
    # RFC 9113 6.5.2's count, the request line as the :method and :path pseudo-fields.
    size = len(":method") + len("POST") + 32 + len(":path") + len(path) + 32 + sum(len(k) + len(v) + 32 for k, v in fields)
    return head.encode() + b"{}", size


def test_http1_header_list_has_the_http2_limit_and_the_connection_serves_on(server):
    from test_web_protocols import raw_exchange
    limit = 16 * 1024
    _, base = padded_request("")
    at_limit, size = padded_request("p" * (limit - base))
    assert size == limit
    over, size = padded_request("p" * (limit - base + 1))
    got = raw_exchange(server, at_limit + over, read_until=b"than max")
    first, _, second = got.partition(b"HTTP/1.1 431")
    assert first.startswith(b"HTTP/1.1 200 OK"), got[:300]
    assert second, f"one byte over the limit is refused with 431: {got[:300]!r}"
    assert f"larger than max ({limit})".encode() in second
    assert create_session_json_over_same_server(server)


def create_session_json_over_same_server(server):
    status, _, body = post(server, "/kato.v2.SessionService/CreateSession", b'{"node_id":"after"}', "application/json")
    return status == 200 and json.loads(body)["nodeId"] == "after"


def test_concurrent_call_limit_counts_http1_calls(binaries):
    """--max-concurrent-calls holds across protocols: two Connect subscriptions on HTTP/1.1 fill
    it, a third call (Connect unary) is resource_exhausted at once, and is served once they end."""
    import socket
    s = start_kato_server(binaries, "--max-concurrent-calls", "2", env=MEM)
    try:
        status, _, body = post(s, "/kato.v2.SessionService/CreateSession", b'{"node_id":"cc"}', "application/json")
        sid = json.loads(body)["sessionId"]
        host, port = s.address.rsplit(":", 1)
        subscribers = []
        for _ in range(2):
            sock = socket.create_connection((host, int(port)), timeout=30)
            body = envelope(json.dumps({"sessionId": sid, "sendInitial": True}).encode())
            sock.sendall(f"POST /kato.v2.PredictService/SubscribePredictions HTTP/1.1\r\nHost: x\r\n"
                         f"Content-Type: application/connect+json\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
            assert b"HTTP/1.1 200 OK" in sock.recv(65536)
            subscribers.append(sock)
        status, _, reply = post(s, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": sid, "strings": ["a"]}),
                                "application/json")
        error = json.loads(reply)
        assert status == 429 and error["code"] == "resource_exhausted", error
        info = next(d for d in error["details"] if d["type"] == "google.rpc.ErrorInfo")
        reason = error_details_pb2.ErrorInfo.FromString(base64.b64decode(info["value"] + "=" * (-len(info["value"]) % 4))).reason
        assert reason == "CONCURRENCY_LIMIT", error
        for sock in subscribers:
            sock.close()
        deadline = time.time() + 30
        while post(s, "/kato.v2.ObserveService/Observe", json.dumps({"sessionId": sid, "strings": ["a"]}),
                   "application/json")[0] != 200:
            assert time.time() < deadline, "the closed subscriptions did not give their places back"
            time.sleep(0.05)
    finally:
        s.stop()
