"""The pause of a restart by hand-over (docs/OPERATIONS.md "Restart and upgrade") against the
number of live sessions, the part of it that grows with them: the predecessor snapshots and
encodes every session, the successor receives, decodes and installs them before it accepts.

For each size N: a kato-server (BIN_DIR, e.g. .build/release) on a fresh data directory,
`kato-load` creates N sessions on 10 nodes and observes 3 events in each (STM checked), then a
successor is started with `--take-over`. Measured:
- pause_ms: the longest Health/Check of a grpcio client calling in a loop through the hand-over
  (its calls after the predecessor's GOAWAY wait in the socket's queue until the successor
  accepts) — what a client sees; probe_failures: its calls that failed (grpcio gives up on a
  connection that sends no SETTINGS within 20 s, so a pause past that fails calls);
- take_over_ms: from starting the successor to its `listening on` (includes its preload);
- the phases from the two servers' logs: snapshot, encode, send (predecessor), decode and install
  (successor), and the bytes sent.
The successor's session count is checked (N + the nodes' default sessions).

- all_sessions_ms: from starting the successor to its first CountSessions answer — CountSessions
  waits until every session has arrived, so this is when the last one was installed (a successor
  that streams the sessions behind an index, issue 16, accepts before that; one that does not,
  after).

    .venv/bin/python benchmarks/handover/handover_pause.py BIN_DIR [SIZES...]   (default 1000 10000 100000)
KATO_LOAD=path/to/kato-load picks another load generator than BIN_DIR's (it only creates the sessions).
KATO_BEFORE_BIN_DIR=DIR alternates a reference build with BIN_DIR: for each size, the reference
then BIN_DIR, in the same run (`make bench-handover BEFORE=DIR`).
Prints one JSON line per size and build.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../clients/python"))
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402  (grpcio-health-checking)
from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc  # noqa: E402

NODES = 10


def start(bin_dir, data, log, *extra):
    proc = subprocess.Popen([f"{bin_dir}/kato-server", "--port", "0", "--admin-port=-1", "--data-dir", data,
                             "--log-level", "info", *extra], stdout=subprocess.PIPE, stderr=log, text=True)
    for line in proc.stdout:
        if line.startswith("listening on "):
            return proc, line.split()[-1]
    raise RuntimeError(f"kato-server did not start: see {log.name}")


def metadata(log_path, message):
    """key=value pairs of the last log line containing `message`."""
    found = {}
    with open(log_path) as f:
        for line in f:
            if message in line:
                found = dict(re.findall(r"(\w+)=([^\s,\]]+)", line))
    return found


class Prober:
    """Health/Check in a loop on one grpcio channel (which reconnects after GOAWAY)."""

    def __init__(self, address):
        self.address = address
        self.stop = threading.Event()
        self.longest = 0.0
        self.calls = 0
        self.failures = []
        self.thread = threading.Thread(target=self.run)

    def run(self):
        with grpc.insecure_channel(self.address) as channel:
            check = health_pb2_grpc.HealthStub(channel).Check
            while not self.stop.is_set():
                t0 = time.perf_counter()
                try:
                    check(health_pb2.HealthCheckRequest(), timeout=300)
                except grpc.RpcError as e:
                    self.failures.append(f"{e.code()} {e.details()}")
                self.longest = max(self.longest, time.perf_counter() - t0)
                self.calls += 1
                time.sleep(0.001)


def bench(bin_dir, n):
    limit = str(n + 1000)
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        old_log_path, new_log_path = os.path.join(tmp, "old.log"), os.path.join(tmp, "new.log")
        with open(old_log_path, "w") as old_log, open(new_log_path, "w") as new_log:
            old, address = start(bin_dir, data, old_log, "--max-sessions", limit)
            new = None
            try:
                port = address.rsplit(":", 1)[1]
                load = subprocess.run([os.environ.get("KATO_LOAD", f"{bin_dir}/kato-load"), "--port", port, "--sessions", str(n), "--observations", "3",
                                       "--nodes", str(NODES), "--connections", "4", "--concurrency", "256"],
                                      capture_output=True, text=True, timeout=1800)
                report = json.loads(load.stdout.strip().splitlines()[-1])
                assert load.returncode == 0 and report["errors"] == 0 and report["leaks"] == 0, report
                prober = Prober(address)
                prober.thread.start()
                time.sleep(0.5)
                started = time.perf_counter()
                new, new_address = start(bin_dir, data, new_log, "--take-over", "--max-sessions", limit)
                take_over = time.perf_counter() - started
                assert new_address == address
                with grpc.insecure_channel(address) as channel:
                    session_pb2_grpc.SessionServiceStub(channel).CountSessions(session_pb2.CountSessionsRequest(), timeout=300)
                all_sessions = time.perf_counter() - started
                old.wait(600)
                time.sleep(0.5)
                prober.stop.set()
                prober.thread.join(300)
                with grpc.insecure_channel(address) as channel:
                    count = session_pb2_grpc.SessionServiceStub(channel).CountSessions(
                        session_pb2.CountSessionsRequest(), timeout=60).count
            finally:
                for p in (new, old):
                    if p and p.poll() is None:
                        p.terminate()
                        p.wait(120)
        sent = metadata(old_log_path, "handed over")
        received = metadata(new_log_path, "sessions received")
        installed = metadata(new_log_path, "sessions installed")
        row = {
            "bin": bin_dir, "sessions": n, "sessions_after": count, "pause_ms": round(prober.longest * 1000, 1),
            "take_over_ms": round(take_over * 1000, 1), "all_sessions_ms": round(all_sessions * 1000, 1), "probe_calls": prober.calls,
            # A call that waited too long in the accept queue fails (grpcio gives up on a connection
            # without SETTINGS after 20 s): a pause past that is not "zero downtime".
            "probe_failures": len(prober.failures), "first_failure": prober.failures[0][:120] if prober.failures else None,
            "predecessor": {k: v for k, v in sent.items() if k.endswith("_ms") or k in ("bytes", "format")},
            "successor": {k: v for k, v in received.items() if k.endswith("_ms")},
            "install_ms": installed.get("install_ms") or installed.get("receive_install_ms"),
        }
        # CountSessions counts sessions made with CreateSession (not the nodes' default sessions).
        assert count >= n, row
        return row


def main():
    bin_dir = sys.argv[1]
    sizes = [int(s) for s in sys.argv[2:]] or [1000, 10_000, 100_000]
    before = os.environ.get("KATO_BEFORE_BIN_DIR")
    for n in sizes:
        for b in ([before] if before else []) + [bin_dir]:
            print(json.dumps(bench(b, n)), flush=True)


if __name__ == "__main__":
    main()
