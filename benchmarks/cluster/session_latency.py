"""Per-call latency of Observe on one replica: embedded (in memory) vs --postgres (session
run on the replica's copy and written back in one conditional statement, docs/SCALING.md). Sequential calls, one client.
Run: .venv/bin/python benchmarks/cluster/session_latency.py [BIN_DIR]   (default: swift build's bin path)
"""
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "python"))
import grpc
from conftest import start_kato_server
from pg_support import PostgresServer
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc, types_pb2
from google.protobuf import wrappers_pb2
binaries = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(subprocess.run(
    ["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip())

def run(server, n=400):
    ch = grpc.insecure_channel(server.address)
    ss, ob = session_pb2_grpc.SessionServiceStub(ch), observe_pb2_grpc.ObserveServiceStub(ch)
    sid = ss.CreateSession(session_pb2.CreateSessionRequest(node_id="m", config=types_pb2.SessionConfig(
        max_pattern_length=wrappers_pb2.Int64Value(value=0)))).session_id
    for i in range(50):
        ob.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"w{i % 7}"]))
    lat = []
    for i in range(n):
        t = time.perf_counter()
        ob.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"s{i % 7}"]))
        lat.append((time.perf_counter() - t) * 1e3)
    ch.close()
    lat.sort()
    return statistics.median(lat), lat[int(len(lat) * 0.99)]

emb = start_kato_server(binaries, "--in-memory")
pg = PostgresServer()
rep = start_kato_server(binaries, "--in-memory", "--postgres", pg.url())
try:
    for round_ in range(2):
        e = run(emb); p = run(rep)
        print(f"round {round_}: embedded p50 {e[0]:.2f} ms p99 {e[1]:.2f} ms | postgres p50 {p[0]:.2f} ms p99 {p[1]:.2f} ms")
finally:
    emb.stop(); rep.stop(); pg.destroy()
