"""Helpers for the GRPCH2 interop tests: raw HTTP/2 requests through the `nghttp` CLI,
gRPC message framing, test certificates made with `openssl`, and small polling utilities."""
import dataclasses
import pathlib
import re
import struct
import subprocess
import time

import grpc

from echo_pb.grpch2.test import echo_pb2, echo_pb2_grpc

ECHO = "grpch2.test.Echo"


def frame(message: bytes, compressed: bool = False) -> bytes:
    """One gRPC length-prefixed message."""
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(message)) + message


def unframe(body: bytes) -> list[tuple[bool, bytes]]:
    out, i = [], 0
    while i + 5 <= len(body):
        flag, n = body[i], struct.unpack(">I", body[i + 1:i + 5])[0]
        out.append((flag == 1, body[i + 5:i + 5 + n]))
        i += 5 + n
    return out


def echo_stub(channel) -> echo_pb2_grpc.EchoStub:
    return echo_pb2_grpc.EchoStub(channel)


def _stats(stub) -> tuple[int, int, int]:
    reply = stub.Unary(echo_pb2.EchoRequest(message="__stats__"), timeout=30)
    m = re.fullmatch(r"completed=(\d+) cancelled=(\d+) delaying=(\d+)", reply.message)
    assert m, reply.message
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def stats(stub) -> tuple[int, int]:
    """(completed, cancelled) handler counts of the echo server."""
    return _stats(stub)[:2]


def start_delayed(stub, start, timeout=30.0):
    """Calls `start()`, which sends one call with a `delay_ms` (or a `/slow/` GET), and returns what it
    returned once that call's handler is in its delay: the call a test then cancels, cuts off or
    drains is in flight on the server whatever the machine's load (a sleep of a few hundred
    milliseconds is not always enough on a starved CI machine). First waits for the handlers of
    earlier tests to leave their delays, so the count seen is this call's. `stub`: an echo stub on
    the same server."""
    assert wait_until(lambda: _stats(stub)[2] == 0, timeout), "handlers of earlier calls are still in their delay"
    started = start()
    assert wait_until(lambda: _stats(stub)[2] >= 1, timeout), "the server never started the delayed handler"
    return started


def wait_until(predicate, timeout=30.0, interval=0.05):
    """The first true value of predicate(), or its last value after `timeout` seconds: a budget for a
    server-side effect on a loaded 2-core CI machine, not a measure of speed (it returns at once)."""
    deadline = time.time() + timeout
    while True:
        value = predicate()
        if value or time.time() > deadline:
            return value
        time.sleep(interval)


def rss_kib(pid: int) -> int:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


class HeaderBlocks:
    """`headers` and `trailers` of a response read as `header_blocks` (lists of name/value pairs)."""

    @property
    def headers(self) -> dict[str, str]:
        return dict(self.header_blocks[0]) if self.header_blocks else {}

    @property
    def trailers(self) -> dict[str, str]:
        """The block with grpc-status (the last one; the only one for Trailers-Only)."""
        return dict(self.header_blocks[-1]) if self.header_blocks else {}


@dataclasses.dataclass
class RawResponse(HeaderBlocks):
    """What `nghttp -v` saw on the request's stream: header blocks in order, DATA bytes."""
    header_blocks: list[list[tuple[str, str]]]
    exit_code: int
    output: str

    @property
    def grpc_status(self) -> int | None:
        s = self.trailers.get("grpc-status")
        return None if s is None else int(s)


# "(stream_id=N, sensitive)": a never-indexed literal (per-call trailing metadata).
_HEADER = re.compile(r"^\[\s*[\d.]+\] recv \(stream_id=(\d+)(?:, sensitive)?\) (:?[^:\s]+): (.*)$")
_HEADERS_FRAME = re.compile(r"^\[\s*[\d.]+\] recv HEADERS frame <.*stream_id=(\d+)>")


def nghttp(port: int, path: str, body: bytes | None, headers: dict[str, str] | None = None,
           tmp: pathlib.Path | None = None, timeout: float = 20) -> RawResponse:
    """POSTs `body` to `path` with gRPC headers (overridable) and parses the response headers."""
    hdrs = {"content-type": "application/grpc", "te": "trailers"}
    hdrs.update(headers or {})
    args = ["nghttp", "-v", "-n", "-t", f"{timeout}", "-H", ":method: POST"]
    for k, v in hdrs.items():
        args += ["-H", f"{k}: {v}"]
    if body is not None:
        assert tmp is not None
        data = tmp / "nghttp-body.bin"
        data.write_bytes(body)
        args += ["-d", str(data)]
    args.append(f"http://127.0.0.1:{port}{path}")
    proc = subprocess.run(args, capture_output=True, timeout=timeout + 10)
    text = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
    blocks, current = [], []
    for line in text.splitlines():
        if m := _HEADER.match(line):
            current.append((m.group(2), m.group(3)))
        elif _HEADERS_FRAME.match(line) and current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return RawResponse(blocks, proc.returncode, text)


def echo_request_bytes(**fields) -> bytes:
    return echo_pb2.EchoRequest(**fields).SerializeToString()


# MARK: certificates

def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(directory: pathlib.Path) -> dict[str, pathlib.Path]:
    """A self-signed CA, a server cert for localhost/127.0.0.1 and a client cert, all signed by it,
    plus a client cert signed by an unrelated CA."""
    d = directory
    ext = d / "server.ext"
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    cext = d / "client.ext"
    cext.write_text("extendedKeyUsage=clientAuth\n")
    for ca in ("ca", "other-ca"):
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=grpch2 test {ca}",
                 "-keyout", f"{ca}.key", "-out", f"{ca}.pem", cwd=d)
    for name, ca, extfile in (("server", "ca", ext), ("client", "ca", cext), ("stranger", "other-ca", cext)):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={'localhost' if name == 'server' else name}",
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
                 "-days", "2", "-extfile", str(extfile), "-out", f"{name}.pem", cwd=d)
    return {p.stem + p.suffix.replace(".", "_"): p for p in d.iterdir()}


def wait_ready(channel, timeout=10):
    grpc.channel_ready_future(channel).result(timeout=timeout)
