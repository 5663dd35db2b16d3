#!/usr/bin/env python3
"""Writes the hand-made seed corpora of the fuzz targets (Fuzz/Corpus/<target>/seed-*):
HTTP/2 frame sequences a client sends after the preface, framed gRPC messages of every request
type, proto3 JSON / text / wire payloads, config and key files, record-codec blobs. Recorded
grpcio sessions come from record-grpcio.py. Run from the repository root with the test venv:

    .venv/bin/python Fuzz/scripts/make-seeds.py
    .venv/bin/python Fuzz/scripts/make-seeds.py --check   # exit 1 if a committed seed is stale

Deterministic: the same files every run (libFuzzer's own finds are named by SHA-1 and stay)."""
import base64
import filecmp
import gzip
import json
import pathlib
import re
import struct
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
from google.protobuf import descriptor_pb2, json_format, text_format  # noqa: E402

# After google.protobuf: the client's _pb/google (google.rpc) is a regular package that would
# otherwise shadow the installed namespace package.
sys.path[:0] = [str(ROOT / "Tests/python/echo_pb")]
sys.path.append(str(ROOT / "clients/python"))
from grpc_health.v1 import health_pb2  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2 as reflection_v1alpha_pb2  # noqa: E402
from grpch2.test import echo_pb2  # noqa: E402
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2  # noqa: E402

CORPUS = ROOT / "Fuzz/Corpus"


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / f"seed-{name}").write_bytes(bytes(data))


# MARK: HTTP/2 frames (RFC 9113 §4.1), HPACK literals (RFC 7541 §6.2)

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS, PADDED, PRIO = 0x1, 0x1, 0x4, 0x8, 0x20


def frame(kind, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append(value % 128 + 128)
        value //= 128
    out.append(value)
    return bytes(out)


def literal(name, value, indexing=False):
    """Literal header field with a new name: without indexing, or with incremental indexing."""
    name, value = name.encode(), value.encode() if isinstance(value, str) else value
    head = b"\x40" if indexing else b"\x00"
    return head + hpack_int(len(name), 7, 0) + name + hpack_int(len(value), 7, 0) + value


def block(fields, indexing=False):
    return b"".join(literal(n, v, indexing) for n, v in fields)


def request(path, extra=()):
    return [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "localhost"),
            ("content-type", "application/grpc"), ("te", "trailers"), *extra]


def grpc(message, compressed=False):
    body = message.SerializeToString() if hasattr(message, "SerializeToString") else bytes(message)
    if compressed:
        body = gzip.compress(body, mtime=0)
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(body)) + body


SETTINGS0 = frame(SETTINGS, 0, 0)


def call(stream, path, *messages, extra=(), end=True):
    out = frame(HEADERS, END_HEADERS, stream, block(request(path, extra)))
    for i, m in enumerate(messages):
        out += frame(DATA, END_STREAM if end and i == len(messages) - 1 else 0, stream, m)
    if end and not messages:
        out += frame(DATA, END_STREAM, stream)
    return out


ECHO = "/grpch2.test.Echo/"
HEALTH = "/grpc.health.v1.Health/"
REFLECTION = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
REFLECTION_ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"


def connection_seeds():
    t = "connection"
    hi = grpc(echo_pb2.EchoRequest(message="hi", payload=b"x" * 10))
    write(t, "unary", SETTINGS0 + call(1, ECHO + "Unary", hi))
    write(t, "unary-fail", SETTINGS0 + call(1, ECHO + "Unary", grpc(echo_pb2.EchoRequest(fail_code=5, fail_message="nope"))))
    write(t, "server-stream", SETTINGS0 + call(1, ECHO + "ServerStream", grpc(echo_pb2.EchoRequest(message="s", count=3))))
    write(t, "client-stream", SETTINGS0 + call(1, ECHO + "ClientStream", hi, hi, grpc(echo_pb2.EchoRequest(payload=b"y"))))
    two = hi + grpc(echo_pb2.EchoRequest(message="again"))
    write(t, "bidi-split", SETTINGS0 + call(1, ECHO + "BidiStream", two[:3], two[3:17], two[17:]))
    write(t, "gzip", SETTINGS0 + call(1, ECHO + "Unary", grpc(echo_pb2.EchoRequest(message="z" * 64), compressed=True),
                                      extra=[("grpc-encoding", "gzip"), ("grpc-accept-encoding", "gzip,identity")]))
    write(t, "metadata-timeout", SETTINGS0 + call(1, ECHO + "Unary", hi, extra=[
        ("grpc-timeout", "1S"), ("echo-key", "value"), ("echo-bin", base64.b64encode(b"\x00\x01").decode()),
        ("user-agent", "grpc-python/1.85.1"), ("grpc-message-type", "grpch2.test.EchoRequest")]))
    write(t, "health-check", SETTINGS0 + call(1, HEALTH + "Check", grpc(health_pb2.HealthCheckRequest(service=""))))
    write(t, "health-check-unknown", SETTINGS0 + call(1, HEALTH + "Check", grpc(health_pb2.HealthCheckRequest(service="nope"))))
    write(t, "health-watch-cancel", SETTINGS0 + call(1, HEALTH + "Watch", grpc(health_pb2.HealthCheckRequest()), end=False)
          + frame(RST_STREAM, 0, 1, struct.pack(">I", 8)))
    r1 = reflection_v1alpha_pb2  # v1 has the same messages (grpcio-reflection ships only v1alpha's module)
    reqs = [r1.ServerReflectionRequest(list_services=""),
            r1.ServerReflectionRequest(file_containing_symbol="kato.v2.ObserveService"),
            r1.ServerReflectionRequest(file_by_filename="kato/v2/types.proto"),
            r1.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
            r1.ServerReflectionRequest(all_extension_numbers_of_type="kato.v2.Event")]
    write(t, "reflection-v1", SETTINGS0 + call(1, REFLECTION, *[grpc(r) for r in reqs]))
    write(t, "reflection-v1alpha", SETTINGS0 + call(1, REFLECTION_ALPHA, grpc(reflection_v1alpha_pb2.ServerReflectionRequest(
        file_by_filename="grpc/health/v1/health.proto"))))
    write(t, "unknown-method", SETTINGS0 + call(1, "/no.Such/Method", hi))
    bad = [(":method", "POST"), (":scheme", "http"), (":path", ECHO + "Unary"), (":authority", "x"), ("content-type", "text/plain")]
    write(t, "bad-content-type", SETTINGS0 + frame(HEADERS, END_HEADERS | END_STREAM, 1, block(bad)))
    hb = block(request(ECHO + "Unary"))
    write(t, "continuation", SETTINGS0 + frame(HEADERS, 0, 1, hb[:10]) + frame(CONTINUATION, 0, 1, hb[10:30])
          + frame(CONTINUATION, END_HEADERS, 1, hb[30:]) + frame(DATA, END_STREAM, 1, hi))
    write(t, "control-frames", SETTINGS0 + frame(PING, 0, 0, b"12345678") + frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 1 << 20))
          + frame(PRIORITY, 0, 3, struct.pack(">IB", 1, 15)) + call(5, ECHO + "Unary", hi)
          + frame(WINDOW_UPDATE, 0, 5, struct.pack(">I", 1000)) + frame(GOAWAY, 0, 0, struct.pack(">II", 5, 0)))
    padded_headers = bytes([4]) + struct.pack(">IB", 0, 200) + hb + b"\0" * 4
    write(t, "padded-priority", SETTINGS0 + frame(HEADERS, END_HEADERS | PADDED | PRIO, 1, padded_headers)
          + frame(DATA, END_STREAM | PADDED, 1, bytes([3]) + hi + b"\0\0\0"))
    write(t, "interleaved", SETTINGS0 + frame(HEADERS, END_HEADERS, 1, block(request(ECHO + "BidiStream")))
          + frame(HEADERS, END_HEADERS, 3, block(request(ECHO + "ClientStream"))) + frame(DATA, 0, 1, hi)
          + frame(DATA, 0, 3, hi) + frame(DATA, END_STREAM, 3, hi) + frame(DATA, END_STREAM, 1, b""))
    write(t, "too-large", SETTINGS0 + call(1, ECHO + "Unary", b"\0" + struct.pack(">I", 1 << 20) + b"x" * 100))
    write(t, "settings-params", frame(SETTINGS, 0, 0, struct.pack(">HIHIHIHI", 1, 0, 2, 0, 4, 65535, 5, 32768))
          + frame(SETTINGS, ACK, 0) + call(1, ECHO + "Unary", hi))
    trailers = frame(HEADERS, END_HEADERS | END_STREAM, 1, block([("grpc-status", "0")]))
    write(t, "client-trailers", SETTINGS0 + frame(HEADERS, END_HEADERS, 1, hb) + frame(DATA, 0, 1, hi) + trailers)
    # The dynamic table: a request with incremental indexing, then one that refers to it (index 62..).
    indexed = block(request(ECHO + "Unary"), indexing=True)
    refs = bytes(0x80 | i for i in range(62, 62 + len(request(ECHO + "Unary"))))
    write(t, "hpack-dynamic", SETTINGS0 + frame(HEADERS, END_HEADERS, 1, indexed) + frame(DATA, END_STREAM, 1, hi)
          + frame(HEADERS, END_HEADERS, 3, refs) + frame(DATA, END_STREAM, 3, hi))
    write(t, "push-promise-from-client", SETTINGS0 + frame(PUSH_PROMISE, END_HEADERS, 1, struct.pack(">I", 2) + hb))


# MARK: HTTP/1.1 requests (the http1 target: the whole connection, no preface)

def http1(method, path, headers=(), body=b"", version="HTTP/1.1"):
    lines = [f"{method} {path} {version}"]
    names = {name.lower() for name, _ in headers}
    if version == "HTTP/1.1" and "host" not in names:
        lines.append("Host: localhost")
    lines += [f"{name}: {value}" for name, value in headers]
    if body and "transfer-encoding" not in names and "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body, size=7):
    out = b""
    for i in range(0, len(body), size):
        part = body[i:i + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


def envelope(message, flags=0):
    body = message.SerializeToString() if hasattr(message, "SerializeToString") else bytes(message)
    return bytes([flags]) + struct.pack(">I", len(body)) + body


def http1_seeds():
    t = "http1"
    hello = echo_pb2.EchoRequest(message="hello over http/1.1", payload=b"xy")
    proto = hello.SerializeToString()
    write(t, "connect-proto-unary", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto"),
                                                                    ("Connect-Protocol-Version", "1")], proto))
    write(t, "connect-json-unary", http1("POST", ECHO + "Unary", [("Content-Type", "application/json")],
                                         json.dumps({"message": "hi", "payload": "eHk="}).encode()))
    write(t, "connect-gzip-timeout", http1("POST", ECHO + "Unary", [
        ("Content-Type", "application/proto"), ("Content-Encoding", "gzip"), ("Accept-Encoding", "gzip"),
        ("Connect-Timeout-Ms", "1000"), ("Echo-Key", "v")], gzip.compress(proto, mtime=0)))
    write(t, "connect-unary-fail", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto")],
                                         echo_pb2.EchoRequest(fail_code=5, fail_message="nope").SerializeToString()))
    write(t, "connect-server-stream", http1("POST", ECHO + "ServerStream", [("Content-Type", "application/connect+proto")],
                                            envelope(echo_pb2.EchoRequest(message="s", count=3))))
    write(t, "grpc-web-unary", http1("POST", ECHO + "Unary", [("Content-Type", "application/grpc-web+proto"),
                                                               ("X-Grpc-Web", "1"), ("Grpc-Timeout", "2S")], grpc(hello)))
    write(t, "grpc-web-text", http1("POST", HEALTH + "Check", [("Content-Type", "application/grpc-web-text")],
                                    base64.b64encode(grpc(health_pb2.HealthCheckRequest(service="")))))
    write(t, "grpc-web-bidi-refused", http1("POST", ECHO + "BidiStream", [("Content-Type", "application/grpc-web+proto")], grpc(hello)))
    write(t, "cors-preflight", http1("OPTIONS", ECHO + "Unary", [
        ("Origin", "https://example.test"), ("Access-Control-Request-Method", "POST"),
        ("Access-Control-Request-Headers", "content-type, connect-protocol-version")]))
    write(t, "chunked-body", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto"),
                                                            ("Transfer-Encoding", "chunked")], chunked(proto)))
    write(t, "pipelined-keep-alive", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto")], proto)
          + http1("POST", HEALTH + "Check", [("Content-Type", "application/grpc-web+proto")], grpc(health_pb2.HealthCheckRequest()))
          + http1("GET", "/console/", [("Connection", "close")]))
    write(t, "http10-close", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto")], proto, version="HTTP/1.0"))
    write(t, "expect-continue", http1("POST", ECHO + "Unary", [("Content-Type", "application/proto"),
                                                               ("Expect", "100-continue")], proto))
    write(t, "unknown-method", http1("POST", "/no.Such/Method", [("Content-Type", "application/proto")], proto))
    write(t, "bad-request-line", b"POST\x00 /x HTTP/9.9\r\nHost: \r\n\r\n")


# MARK: gRPC messages (the message type list as FuzzTarget.grpcMessages orders it)

def swift_message_types(path, enum):
    text = (ROOT / path).read_text()
    body = re.search(r"messageTypes: \[any ProtoMessage\.Type\] = \[(.*?)\]", text, re.S).group(1)
    return re.findall(r"(\w+)\.self", body)


GRPC_TYPES = (swift_message_types("Sources/KatoProto/Generated/kato.v2.pb.swift", "Kato_V2")
              + swift_message_types("Sources/ProtobufCBridge/Generated/grpc.health.v1.pb.swift", "")
              + swift_message_types("Sources/ProtobufCBridge/Generated/grpc.reflection.v1.pb.swift", "")
              + swift_message_types("Sources/ProtobufCBridge/Generated/grpc.reflection.v1alpha.pb.swift", ""))


def sample_messages():
    """(full proto name, message) of realistic requests: every request type of kato.v2, health, reflection."""
    obs = types_pb2.Observation(strings=["hello", "world"], vectors=[types_pb2.Vector(values=[0.5, -1.0])],
                                unique_id="u-1")
    obs.emotives["joy"] = 0.7
    obs.metadata["source"].string_value = "test"
    config = types_pb2.SessionConfig(stm_mode=1)
    config.max_pattern_length.value = 5
    config.recall_threshold.value = 0.25
    config.sort_symbols.value = True
    out = [
        observe_pb2.ObserveRequest(session_id="s-1", node_id="node-a", strings=["hello", "world"],
                                   vectors=[types_pb2.Vector(values=[0.5, -1.0])], emotives={"joy": 0.7},
                                   unique_id="u-1"),
        observe_pb2.ObserveSequenceRequest(session_id="s-1", observations=[obs, obs], learn_at_end=True),
        observe_pb2.LearnRequest(session_id="s-1"),
        observe_pb2.GetShortTermMemoryRequest(session_id="s-1"),
        observe_pb2.ClearShortTermMemoryRequest(session_id="s-1"),
        observe_pb2.ClearAllMemoryRequest(session_id="s-1"),
        predict_pb2.GetPredictionsRequest(session_id="s-1"),
        predict_pb2.SubscribePredictionsRequest(session_id="s-1", send_initial=True),
        predict_pb2.GetPatternRequest(session_id="s-1", name="PTRN|abc"),
        predict_pb2.GetPerceptDataRequest(session_id="s-1"),
        predict_pb2.GetCognitionDataRequest(session_id="s-1"),
        session_pb2.CreateSessionRequest(node_id="node-a", config=config, ttl_seconds=60),
        session_pb2.GetSessionRequest(session_id="s-1"),
        session_pb2.ExtendSessionRequest(session_id="s-1", ttl_seconds=30),
        session_pb2.DeleteSessionRequest(session_id="s-1"),
        session_pb2.UpdateSessionConfigRequest(session_id="s-1", config=config),
        session_pb2.CountSessionsRequest(node_id="node-a"),
        health_pb2.HealthCheckRequest(service="kato.v2.ObserveService"),
        reflection_v1alpha_pb2.ServerReflectionRequest(list_services="*"),
    ]
    named = [(m.DESCRIPTOR.full_name, m) for m in out]
    # grpc.reflection.v1's request: the same wire format as v1alpha's.
    named.append(("grpc.reflection.v1.ServerReflectionRequest",
                  reflection_v1alpha_pb2.ServerReflectionRequest(host="h", file_containing_symbol="kato.v2.Event")))
    return named


def swift_name(full_name):
    parts = full_name.split(".")
    pkg = [p.capitalize() for p in parts if p[0].islower()]
    names = [p for p in parts if not p[0].islower()]
    return "_".join(pkg + names)


def grpc_message_seeds():
    for full, m in sample_messages():
        index = GRPC_TYPES.index(swift_name(full))
        name = swift_name(full)
        write("grpc-messages", name, bytes([index, 255]) + grpc(m) + grpc(m))
        write("grpc-messages", name + "-split", bytes([index, 1]) + grpc(m))
    full, m = sample_messages()[0]
    write("grpc-messages", "gzip", bytes([GRPC_TYPES.index(swift_name(full)), 255]) + grpc(m, compressed=True))


# MARK: proto3 JSON / text (the type list as FuzzTarget.protoJSON orders it: the pool's names, sorted)

def pool_type_names():
    names = set()
    for path, pattern in [("Sources/KatoProto/KatoDescriptors.swift", r'base64 = "([^"]+)"'),
                          ("Sources/ProtoJSON/EmbeddedDescriptors.swift", r'"""\n(.*?)"""')]:
        raw = re.search(pattern, (ROOT / path).read_text(), re.S).group(1)
        fds = descriptor_pb2.FileDescriptorSet.FromString(base64.b64decode("".join(raw.split())))

        def walk(prefix, messages):
            for m in messages:
                names.add(prefix + m.name)
                walk(prefix + m.name + ".", m.nested_type)
        for f in fds.file:
            walk(f.package + "." if f.package else "", f.message_type)
    return sorted(names)


def proto_json_seeds():
    names = pool_type_names()
    assert len(names) <= 256, len(names)
    t = "proto-json"
    for full, m in sample_messages():
        i = names.index(full)
        name = swift_name(full)
        write(t, "wire-" + name, bytes([0, i]) + m.SerializeToString())
        write(t, "json-" + name, bytes([1, i]) + json_format.MessageToJson(m).encode())
        write(t, "text-" + name, bytes([2, i]) + text_format.MessageToString(m).encode())
        write(t, "wire-text-" + name, bytes([3, i]) + m.SerializeToString())
    special = {
        "google.protobuf.Struct": '{"a": [1, "two", true, null, {"b": -2.5e3}]}',
        "google.protobuf.Value": '"text"',
        "google.protobuf.Any": '{"@type": "type.googleapis.com/google.protobuf.Duration", "value": "1.5s"}',
        "google.protobuf.Timestamp": '"2026-12-06T20:00:00.123456789Z"',
        "google.protobuf.Duration": '"-3.000001s"',
        "google.protobuf.FieldMask": '"observation.strings,sessionId"',
        "google.protobuf.Int64Value": '"-9223372036854775808"',
        "google.protobuf.UInt64Value": '"18446744073709551615"',
        "google.protobuf.DoubleValue": '"NaN"',
        "google.protobuf.FloatValue": "3.4028235e38",
        "google.protobuf.BytesValue": '"AAEC-_8="',
        "kato.v2.SessionConfig": '{"maxPatternLength": "7", "stm_mode": "STM_MODE_ROLLING", "recallThreshold": 0.1}',
        "google.rpc.Status": '{"code": 3, "message": "bad", "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest",'
                             ' "fieldViolations": [{"field": "a", "description": "b"}]}]}',
    }
    for full, text in special.items():
        if full in names:
            write(t, "json-" + full.split(".")[-1], bytes([1, names.index(full)]) + text.encode())


# MARK: config and key files

def config_seeds():
    t = "config-files"
    write(t, "json", b"\0" + json.dumps({"port": 50051, "host": "0.0.0.0", "log_level": "info", "auth_required": True,
                                        "rate_limit": 12.5, "data_dir": "/var/lib/kato"}).encode())
    write(t, "yaml", b"\1" + b"---\n# kato\nport: 50051\nhost: '0.0.0.0'\nlog_level: \"debug\"  # comment\n\nauth_required: true\n")
    write(t, "keys-list", b"\2" + json.dumps([
        {"key_sha256": "ab" * 32, "principal": "alice", "roles": ["writer"], "nodes": ["node-a"]},
        {"key": "clear-text-key", "principal": "bob"},
        {"cert_sha256": ":".join(["0F"] * 32), "principal": "carol", "roles": ["admin"], "nodes": ["*"]},
        {"cert_subject": "CN=dave,O=Acme\\, Inc.,C=DE", "principal": "dave", "roles": ["reader"]}]).encode())
    write(t, "keys-wrapped", b"\2" + json.dumps({"keys": [{"key": "k", "principal": "p"}]}).encode())


# MARK: record codec (Sources/KatoStore/Internal/RecordCodec.swift)

def leb(n):
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def rstring(s):
    b = s.encode()
    return leb(len(b)) + b


def rdict(d):
    return leb(len(d)) + b"".join(rstring(k) + struct.pack("<d", d[k]) for k in sorted(d, key=lambda k: k.encode()))


def record_seeds():
    t = "record-codec"
    events = [["a", "b"], ["VCTR|0f3a"], []]
    write(t, "events", b"\0" + leb(len(events)) + b"".join(leb(len(e)) + b"".join(rstring(s) for s in e) for e in events))
    window = [{"joy": 0.5, "fear": -1.0}, {}]
    write(t, "emotives", b"\1" + leb(len(window)) + b"".join(rdict(d) for d in window))
    write(t, "dict", b"\2" + rdict({"joy": 1.0, "é": float("inf")}))
    meta = {"source": ["x", "y"], "k": []}
    write(t, "metadata", b"\3" + leb(len(meta)) + b"".join(rstring(k) + leb(len(meta[k])) + b"".join(rstring(v) for v in meta[k])
                                                         for k in sorted(meta, key=lambda k: k.encode())))


def write_all():
    connection_seeds()
    http1_seeds()
    grpc_message_seeds()
    proto_json_seeds()
    config_seeds()
    record_seeds()


def stale_seeds(committed, fresh):
    """Seed files that differ between two corpus roots, or exist in only one. libFuzzer's own finds
    (named by SHA-1) and record-grpcio.py's recordings (seed-grpcio-*) are not this script's output."""
    def seeds(root):
        return {p.relative_to(root) for p in root.glob("*/seed-*") if not p.name.startswith("seed-grpcio-")}
    mine, theirs = seeds(committed), seeds(fresh)
    changed = {p for p in mine & theirs if not filecmp.cmp(committed / p, fresh / p, shallow=False)}
    return sorted(str(p) for p in (mine ^ theirs) | changed)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        # New kato.v2 message types shift the type index some seeds encode: say so, name them.
        with tempfile.TemporaryDirectory() as out:
            CORPUS = pathlib.Path(out)
            write_all()
            stale = stale_seeds(ROOT / "Fuzz/Corpus", CORPUS)
        for name in stale:
            print(f"stale seed: Fuzz/Corpus/{name}")
        if stale:
            print("regenerate with `make fuzz-seeds` and commit the result")
        sys.exit(1 if stale else 0)
    write_all()
    for d in sorted(CORPUS.iterdir()):
        files = list(d.iterdir())
        print(f"{d.name}: {len(files)} files, {sum(f.stat().st_size for f in files)} bytes")
