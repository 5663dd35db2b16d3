#!/usr/bin/env python3
"""Records what a real grpcio client sends on a connection (after the 24-byte preface) into
Fuzz/Corpus/connection/seed-grpcio-<call>: one connection per call kind, through a recording TCP
proxy in front of a real grpch2-echo-server (echo, health, reflection — the connection fuzz
target's methods). Run from the repository root after `swift build --product grpch2-echo-server`:

    .venv/bin/python Fuzz/scripts/record-grpcio.py [BIN_DIR]"""
import pathlib
import socket
import sys
import threading

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "Tests/python"), str(ROOT / "Tests/python/echo_pb")]

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc  # noqa: E402
from grpch2.test import echo_pb2, echo_pb2_grpc  # noqa: E402

from conftest import RunningServer  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
OUT = ROOT / "Fuzz/Corpus/connection"


class RecordingProxy:
    """Forwards one listening port to the server; keeps each connection's client→server bytes."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sessions = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            client, _ = self.listener.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            record = bytearray()
            self.sessions.append(record)
            threading.Thread(target=self._pump, args=(client, server, record), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, None), daemon=True).start()

    @staticmethod
    def _pump(src, dst, record):
        try:
            while data := src.recv(65536):
                if record is not None:
                    record.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def calls():
    req = echo_pb2.EchoRequest(message="hello", payload=b"\x00\x01\x02" * 8)
    yield "unary", lambda ch: echo_pb2_grpc.EchoStub(ch).Unary(req, timeout=5)
    yield "unary-gzip", lambda ch: echo_pb2_grpc.EchoStub(ch).Unary(
        echo_pb2.EchoRequest(message="z" * 200), timeout=5, compression=grpc.Compression.Gzip)
    yield "metadata", lambda ch: echo_pb2_grpc.EchoStub(ch).Unary(
        req, timeout=5, metadata=[("echo-a", "1"), ("echo-b-bin", b"\xff\x00")])
    yield "server-stream", lambda ch: list(echo_pb2_grpc.EchoStub(ch).ServerStream(
        echo_pb2.EchoRequest(message="s", count=3), timeout=5))
    yield "client-stream", lambda ch: echo_pb2_grpc.EchoStub(ch).ClientStream(iter([req, req, req]), timeout=5)
    yield "bidi", lambda ch: list(echo_pb2_grpc.EchoStub(ch).BidiStream(iter([req, req]), timeout=5))
    yield "health", lambda ch: health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)

    def reflection(ch):
        stub = reflection_pb2_grpc.ServerReflectionStub(ch)
        requests = [reflection_pb2.ServerReflectionRequest(list_services=""),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpch2.test.Echo")]
        return list(stub.ServerReflectionInfo(iter(requests), timeout=5))
    yield "reflection", reflection

    def deadline(ch):
        try:
            echo_pb2_grpc.EchoStub(ch).Unary(echo_pb2.EchoRequest(delay_ms=2000), timeout=0.2)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
    yield "deadline", deadline

    def cancel(ch):
        call = echo_pb2_grpc.EchoStub(ch).BidiStream(iter([req]), timeout=5)
        next(call)
        call.cancel()
    yield "cancel", cancel


def main():
    bin_dir = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / ".build/debug"
    server = RunningServer([str(bin_dir / "grpch2-echo-server"), "--port", "0",
                            "--descriptors", str(ROOT / "Tests/EchoProtoC/echo-descriptors.pb")])
    try:
        proxy = RecordingProxy(server.port)
        for name, body in calls():
            before = len(proxy.sessions)
            with grpc.insecure_channel(f"127.0.0.1:{proxy.port}") as channel:
                body(channel)
            record = proxy.sessions[before]
            import time
            time.sleep(0.2)  # the client's last frames (GOAWAY, RST_STREAM) reach the proxy
            assert record.startswith(PREFACE), name
            (OUT / f"seed-grpcio-{name}").write_bytes(bytes(record[len(PREFACE):]))
            print(f"{name}: {len(record) - len(PREFACE)} bytes")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
