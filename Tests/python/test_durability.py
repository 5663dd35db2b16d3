"""Durability: kill -9 while clients learn, restart, every acknowledged learn is on disk.

Also: the data directory lock, offline verify/export/import, and clear start-up errors for a
corrupt database and a read-only data directory. `DURABILITY_CYCLES` (default 20) sets the
number of kill/restart cycles; scripts/durability-crash-test.sh runs 100.
"""
import collections
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, types_pb2

from conftest import start_kato_server, unavailable

NODE = "crash-node"
SYMBOLS = [f"s{i}" for i in range(12)]


def learner(address, stop, acked, attempted, lock, seed):
    """Learns 2-event patterns from a small alphabet (so frequencies grow) until stopped."""
    rng = random.Random(seed)
    with grpc.insecure_channel(address) as ch:
        stub = observe_pb2_grpc.ObserveServiceStub(ch)
        while not stop.is_set():
            events = [rng.choice(SYMBOLS), rng.choice(SYMBOLS)]
            request = observe_pb2.ObserveSequenceRequest(
                node_id=NODE, learn_at_end=True,
                observations=[types_pb2.Observation(strings=[s]) for s in events])
            key = None
            try:
                response = stub.ObserveSequence(request, timeout=30)
                key = response.final_learned_pattern
                with lock:
                    acked[key] += 1
            except grpc.RpcError:
                # The server died mid-call: the learn may or may not be on disk.
                with lock:
                    attempted[tuple(events)] += 1
                return


def run_cycles(binaries, data_dir, cycles):
    acked = collections.Counter()
    attempted = collections.Counter()
    lock = threading.Lock()
    for cycle in range(cycles):
        server = start_kato_server(binaries, "--data-dir", data_dir)
        stop = threading.Event()
        threads = [threading.Thread(target=learner, args=(server.address, stop, acked, attempted, lock, cycle * 100 + i))
                   for i in range(4)]
        before = sum(acked.values())
        for t in threads:
            t.start()
        # Killed while learning: once the cycle's first learn is acknowledged (on a loaded machine the
        # learners may not have connected within a fixed 0.2–0.6 s), then at a random point.
        deadline = time.time() + 30
        while sum(acked.values()) == before and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(random.uniform(0, 0.4))
        server.proc.kill()  # SIGKILL
        server.proc.wait()
        stop.set()
        for t in threads:
            t.join(timeout=10)
    return acked, attempted


def frequencies(binaries, data_dir, names):
    server = start_kato_server(binaries, "--data-dir", data_dir)
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = predict_pb2_grpc.PredictServiceStub(ch)
            out = {}
            for name in names:
                try:
                    p = stub.GetPattern(predict_pb2.GetPatternRequest(node_id=NODE, name=name), timeout=30)
                    out[name] = p.frequency
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.NOT_FOUND
                    out[name] = 0
            return out
    finally:
        assert server.stop() == 0


def verify(binaries, data_dir):
    return subprocess.run([str(binaries / "kato-server"), "verify", "--data-dir", data_dir],
                          capture_output=True, text=True, timeout=60)


def test_kill_9_loses_no_acknowledged_learn(binaries, tmp_path):
    cycles = int(os.environ.get("DURABILITY_CYCLES", "20"))
    data_dir = str(tmp_path / "data")
    started = time.time()
    acked, attempted = run_cycles(binaries, data_dir, cycles)
    assert sum(acked.values()) > cycles, "clients should have learned something in every cycle"
    got = frequencies(binaries, data_dir, list(acked))
    in_doubt = sum(attempted.values())
    for name, n in acked.items():
        # Every acknowledged learn is there; at most the in-doubt (killed) calls add to it.
        assert n <= got[name] <= n + in_doubt, (name, n, got[name])
    assert sum(got.values()) <= sum(acked.values()) + in_doubt
    result = verify(binaries, data_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("OK:")
    print(f"{cycles} cycles, {sum(acked.values())} acknowledged learns, {in_doubt} in doubt, "
          f"{len(acked)} patterns, {time.time() - started:.1f} s; {result.stdout.strip()}")


def test_data_dir_is_locked_and_offline_tools_refuse_while_served(binaries, tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data_dir)
    try:
        second = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--data-dir", data_dir],
                                capture_output=True, text=True, timeout=30)
        assert second.returncode != 0
        assert "in use by another process" in second.stderr
        result = verify(binaries, data_dir)
        assert result.returncode == 2 and "in use by another process" in result.stderr
    finally:
        server.stop()


def test_export_import_round_trip(binaries, tmp_path):
    data_dir = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data_dir)
    with grpc.insecure_channel(server.address) as ch:
        stub = observe_pb2_grpc.ObserveServiceStub(ch)
        for i in range(20):
            stub.ObserveSequence(observe_pb2.ObserveSequenceRequest(
                node_id="exp", learn_at_end=True,
                observations=[types_pb2.Observation(strings=[f"a{i % 7}"], emotives={"joy": 0.5}),
                              types_pb2.Observation(strings=["b", "c"])]))
    assert server.stop() == 0
    kato = str(binaries / "kato-server")
    export = subprocess.run([kato, "export", "--data-dir", data_dir], capture_output=True, text=True, timeout=60)
    assert export.returncode == 0, export.stderr
    copy = str(tmp_path / "copy")
    imported = subprocess.run([kato, "import", "--data-dir", copy], input=export.stdout, capture_output=True,
                              text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert "imported 7 patterns" in imported.stderr
    again = subprocess.run([kato, "export", "--data-dir", copy], capture_output=True, text=True, timeout=60)
    assert again.stdout == export.stdout
    assert verify(binaries, copy).returncode == 0
    twice = subprocess.run([kato, "import", "--data-dir", copy], input=export.stdout, capture_output=True,
                           text=True, timeout=60)
    assert twice.returncode != 0 and "already exists" in twice.stderr


def test_corrupt_database_is_a_clear_startup_error(binaries, tmp_path):
    data_dir = tmp_path / "data"
    server = start_kato_server(binaries, "--data-dir", str(data_dir))
    assert server.stop() == 0
    db = data_dir / "kato.sqlite"
    with open(db, "r+b") as f:
        f.write(b"this is not a database at all" * 10)
    result = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--data-dir", str(data_dir)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "corrupt" in result.stderr and "kato.sqlite" in result.stderr, result.stderr
    v = verify(binaries, str(data_dir))
    assert v.returncode != 0


def test_read_only_data_dir_is_a_clear_startup_error(binaries, tmp_path):
    data_dir = tmp_path / "ro"
    data_dir.mkdir()
    args = [str(binaries / "kato-server"), "--port", "0", "--data-dir", str(data_dir)]
    if os.geteuid() == 0:
        # root ignores file modes: run the server as nobody on a root-owned directory.
        if shutil.which("setpriv") is None:
            unavailable("needs setpriv to drop root")
        os.chmod(tmp_path, 0o755)
        os.chmod(data_dir, 0o755)
        args = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + args
    else:
        os.chmod(data_dir, 0o555)
    result = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "writable" in result.stderr or "cannot" in result.stderr, result.stderr
