"""Soak test: a mixed kato.v2 workload against two real kato-server processes (plaintext h2c and
TLS) for a configurable time, sampling each server's RSS, open file descriptors, threads, the
admin `/metrics` gauges and its store size to a CSV. It fails (exit 1, reasons printed) when

- over the second half of the load, a server's RSS grows faster than `--max-rss-slope` (MiB/min,
  least-squares fit over the samples);
- after the load stops and the clients have gone, a server's open fds are not back to the
  baseline taken before the load (+ `--fd-tolerance`), or calls/subscribers/sessions gauges are
  not back to zero;
- any learn the server acknowledged is missing at the end: over gRPC (GetPattern, frequency at
  least the number of acknowledged learns), and, after the server stopped, in the durable store
  (`kato verify`, then `kato export`);
- a call failed with a status the workload did not ask for (e.g. UNAVAILABLE, INTERNAL).

The workload (Python grpcio clients, a few threads, paced so a 1-hour run does not hog a shared
machine): sessions that observe/learn/predict and are deleted or left to expire; subscribers
joining and leaving while others observe; cancelled unary calls and streams; deadlines that expire
(unary and a subscription); bad requests (unknown session, bad config, undecodable bytes, unknown
method, raw garbage on a socket); client connections opened and closed over plaintext and TLS.

    python benchmarks/soak/soak.py --minutes 60 --bin-dir .build/debug --out /tmp/soak
Used by `make soak` (SOAK_MINUTES) and, for 2 minutes, by Tests/python/test_soak.py.
"""
import argparse
import csv
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "clients" / "python"), str(ROOT / "Tests" / "python"), str(pathlib.Path(__file__).parent)]

import grpc  # noqa: E402
from kato_client import KatoClient, TLSConfig  # noqa: E402
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc  # noqa: E402

from soak_server import SoakServer, make_pki  # noqa: E402

# Codes the workload provokes on purpose; anything else is a failure.
EXPECTED = {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.CANCELLED,
            grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.FAILED_PRECONDITION}
VOCABULARY = [f"w{i}" for i in range(40)]
NODES = ("soak-expiring", "soak-subscribed", "soak-cancelled", "soak-deadline", "soak-bad")
SEQUENCES = 50  # distinct learnable sequences: the knowledge base plateaus instead of growing forever


class Workload:
    def __init__(self, servers: list[SoakServer], seconds: float, seed: int = 1):
        self.servers = servers
        self.deadline = time.time() + seconds
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked: dict[tuple[str, str], int] = {}   # (node, pattern name) -> acknowledged learns
        self.counts: dict[str, int] = {}
        self.unexpected: list[str] = []
        self.seed = seed

    def running(self) -> bool:
        return not self.stop.is_set() and time.time() < self.deadline

    def count(self, key: str, n: int = 1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def failed(self, where: str, error: BaseException, also=()):
        code = getattr(error, "code", None)
        code = code() if callable(code) else code
        if code in EXPECTED or code in also:
            self.count(f"expected:{code.name}")
            return
        with self.lock:
            self.unexpected.append(f"{where}: {type(error).__name__}: {code}: {str(error).splitlines()[0][:200]}")

    def guarded(self, name: str, body):
        rng = random.Random(f"{self.seed}-{name}")
        while self.running():
            try:
                body(rng)
                self.count(name)
            except Exception as e:  # noqa: BLE001 - classified by status code
                self.failed(name, e)
            time.sleep(0.01)

    # MARK: workers

    def learner(self, server: SoakServer, client: KatoClient, node: str):
        def body(rng):
            with client.session(node, config={"max_pattern_length": 0}) as s:
                k = rng.randrange(SEQUENCES)
                for i in range(3):
                    s.observe(strings=[VOCABULARY[(k * 7 + i * 3) % len(VOCABULARY)], f"t{k}"])
                name = s.learn()
                with self.lock:
                    self.acked[(node, name)] = self.acked.get((node, name), 0) + 1
                s.observe(strings=[VOCABULARY[(k * 7) % len(VOCABULARY)], f"t{k}"])
                s.predictions()
        return body

    def expiring_sessions(self, client: KatoClient):
        def body(rng):
            s = client.session("soak-expiring", ttl_seconds=2)
            s.observe(strings=[rng.choice(VOCABULARY)])  # never deleted: the TTL ends it
        return body

    def subscriber(self, client: KatoClient):
        def body(rng):
            with client.session("soak-subscribed") as s:
                sub = s.subscribe(send_initial=True, timeout=10)
                next(iter(sub))
                others = [s.client.attach(s.session_id) for _ in range(2)]
                for o in others:
                    o.observe(strings=[rng.choice(VOCABULARY)])
                next(iter(sub))
                sub.close()  # leaves while the session lives on
                s.observe(strings=["after"])
        return body

    def canceller(self, server: SoakServer, client: KatoClient):
        # Cancelled calls go over a connection of their own, paced to ~20 resets a second:
        # libnghttp2's rapid-reset mitigation (CVE-2023-44487, on by default: 1,000 resets at
        # once, then 33 a second) answers more with GOAWAY(INTERNAL_ERROR), which would take
        # the other workers' calls on a shared connection down with it (docs/BENCHMARKS.md "Soak").
        own = KatoClient(server.address, tls=server.client_tls, options=[("grpc.use_local_subchannel_pool", 1)])
        server.clients.append(own)
        observe = observe_pb2_grpc.ObserveServiceStub(own.channel)
        predict = predict_pb2_grpc.PredictServiceStub(own.channel)

        def body(rng):
            time.sleep(0.15)
            with client.session("soak-cancelled") as s:
                fut = observe.Observe.future(observe_pb2.ObserveRequest(session_id=s.session_id, strings=["c"]), timeout=10)
                fut.cancel()
                stream = predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(
                    session_id=s.session_id, send_initial=True), timeout=10)
                next(stream)
                stream.cancel()
                requests = iter([observe_pb2.ObserveRequest(session_id=s.session_id, strings=["c"])] * 3)
                responses = observe.ObserveStream(requests, timeout=10)
                if rng.random() < 0.5:
                    next(responses)  # cancelled mid-stream rather than before the first answer
                responses.cancel()
        return body

    def deadlines(self, client: KatoClient):
        def body(rng):
            with client.session("soak-deadline") as s:
                try:
                    s.observe(strings=["quick"], timeout=0.0005)
                except Exception as e:  # noqa: BLE001
                    self.failed("deadline-unary", e)
                sub = s.subscribe(send_initial=True, timeout=0.3)
                try:
                    for _ in sub:
                        pass
                except Exception as e:  # noqa: BLE001 - DEADLINE_EXCEEDED expected
                    self.failed("deadline-stream", e)
        return body

    def bad_requests(self, server: SoakServer, client: KatoClient):
        raw = client.channel.unary_unary("/kato.v2.ObserveService/Observe")
        unknown = client.channel.unary_unary("/kato.v2.NoSuchService/Nothing")

        def body(rng):
            # (call, a status it may end with besides EXPECTED): undecodable bytes are INTERNAL,
            # as gRPC specifies for a message the server cannot deserialize.
            for call, also in ((lambda: client.attach("no-such-session").observe(strings=["x"]), ()),
                               (lambda: client.session("soak-bad", config={"recall_threshold": 7.5}), ()),
                               (lambda: raw(b"\xff\xff\xff\xff\x0f", timeout=5), (grpc.StatusCode.INTERNAL,)),
                               (lambda: unknown(b"", timeout=5), ())):
                try:
                    call()
                    with self.lock:
                        self.unexpected.append("a bad request succeeded")
                except Exception as e:  # noqa: BLE001
                    self.failed("bad-request", e, also)
            with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
                sock.sendall(bytes(rng.randrange(256) for _ in range(64)))
                try:
                    sock.recv(4096)
                except OSError:
                    pass
        return body

    def churn(self, server: SoakServer):
        def body(rng):
            # A local subchannel pool: grpcio otherwise shares one TCP connection between channels.
            with KatoClient(server.address, tls=server.client_tls, options=[("grpc.use_local_subchannel_pool", 1)]) as c:
                c.wait_ready(timeout=10)
                c.count_sessions()
        return body

    # MARK: run

    def run(self):
        threads = []
        for server in self.servers:
            client = KatoClient(server.address, tls=server.client_tls, timeout=30)
            server.clients.append(client)
            node = f"soak-{server.name}"
            workers = {
                "learn": self.learner(server, client, node),
                "expiring": self.expiring_sessions(client),
                "subscribe": self.subscriber(client),
                "cancel": self.canceller(server, client),
                "deadline": self.deadlines(client),
                "bad": self.bad_requests(server, client),
                "churn": self.churn(server),
            }
            for name, body in workers.items():
                t = threading.Thread(target=self.guarded, args=(f"{server.name}:{name}", body), daemon=True)
                t.start()
                threads.append(t)
        for t in threads:
            t.join()
        for server in self.servers:
            for c in server.clients:
                c.close()
            server.clients.clear()


class Sampler(threading.Thread):
    FIELDS = ["t_s", "phase", "server", "rss_kib", "fds", "threads", "calls_active", "calls_started",
              "sessions_active", "subscribers_active", "store_bytes"]

    def __init__(self, servers, path: pathlib.Path, interval: float):
        super().__init__(daemon=True)
        self.servers, self.interval, self.t0 = servers, interval, time.time()
        self.file = path.open("w", newline="")
        self.writer = csv.DictWriter(self.file, self.FIELDS)
        self.writer.writeheader()
        self.phase = "baseline"
        self.rows: list[dict] = []
        self.halt = threading.Event()

    def sample(self):
        for s in self.servers:
            row = {"t_s": round(time.time() - self.t0, 1), "phase": self.phase, "server": s.name, **s.sample()}
            self.rows.append(row)
            self.writer.writerow(row)
        self.file.flush()

    def run(self):
        while not self.halt.wait(self.interval):
            self.sample()


def slope_mib_per_min(rows) -> float:
    """Least-squares slope of RSS over time."""
    xs = [r["t_s"] / 60 for r in rows]
    ys = [r["rss_kib"] / 1024 for r in rows]
    n = len(xs)
    if n < 3:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=60)
    p.add_argument("--bin-dir", type=pathlib.Path, required=True)
    p.add_argument("--out", type=pathlib.Path, default=None)
    p.add_argument("--sample-seconds", type=float, default=5)
    p.add_argument("--settle-seconds", type=float, default=20)
    p.add_argument("--max-rss-slope", type=float, default=1.0, help="MiB/min over the second half")
    p.add_argument("--fd-tolerance", type=int, default=4)
    args = p.parse_args(argv)
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="kato-soak-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "pki").mkdir(exist_ok=True)
    pki = make_pki(out / "pki")
    servers = [SoakServer("plaintext", args.bin_dir, out / "data-plaintext"),
               SoakServer("tls", args.bin_dir, out / "data-tls", pki=pki)]
    failures: list[str] = []
    try:
        workload = Workload(servers, args.minutes * 60)
        for s in servers:  # warm-up: one of each kind of call, so lazily opened fds count in the baseline
            s.warm_up()
        sampler = Sampler(servers, out / "soak.csv", args.sample_seconds)
        time.sleep(1)
        sampler.sample()
        sampler.phase = "load"
        sampler.start()
        load_started = time.time()
        workload.run()
        load_seconds = time.time() - load_started
        sampler.phase = "settle"
        deadline = time.time() + max(args.settle_seconds, 3 * args.sample_seconds)
        while time.time() < deadline:  # sessions with a TTL expire, connections close
            time.sleep(1)
        sampler.halt.set()
        sampler.join()
        sampler.sample()
        failures += check(sampler.rows, servers, load_seconds, args)
        failures += [f"unexpected call failure: {u}" for u in workload.unexpected[:20]]
        if len(workload.unexpected) > 20:
            failures.append(f"... {len(workload.unexpected) - 20} more unexpected failures")
        failures += verify_learns(servers, workload.acked, args.bin_dir)
        summary = {"minutes": round(load_seconds / 60, 2), "calls": workload.counts,
                   "acknowledged_learns": sum(workload.acked.values()), "distinct_patterns": len(workload.acked),
                   "unexpected": len(workload.unexpected), "csv": str(out / "soak.csv"), "failures": failures}
        for s in servers:
            load = [r for r in sampler.rows if r["server"] == s.name and r["phase"] == "load"]
            second = [r for r in load if r["t_s"] >= load[0]["t_s"] + (load[-1]["t_s"] - load[0]["t_s"]) / 2] if load else []
            summary[s.name] = {"rss_slope_mib_per_min_second_half": round(slope_mib_per_min(second), 3),
                               "rss_kib_max": max((r["rss_kib"] for r in load), default=0),
                               "fds_baseline": s.baseline_fds, "fds_end": sampler.rows[-len(servers) + servers.index(s)]["fds"]}
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        print(json.dumps(summary, indent=2))
    finally:
        for s in servers:
            failures += s.stop()
    if failures:
        print("SOAK FAILED:\n  " + "\n  ".join(failures))
        return 1
    print("SOAK PASSED")
    return 0


def check(rows, servers, load_seconds, args) -> list[str]:
    failures = []
    for s in servers:
        mine = [r for r in rows if r["server"] == s.name]
        load = [r for r in mine if r["phase"] == "load"]
        if len(load) < 4:
            failures.append(f"{s.name}: only {len(load)} samples during the load")
            continue
        half = load[0]["t_s"] + (load[-1]["t_s"] - load[0]["t_s"]) / 2
        slope = slope_mib_per_min([r for r in load if r["t_s"] >= half])
        if slope > args.max_rss_slope:
            failures.append(f"{s.name}: RSS grew {slope:.2f} MiB/min over the second half (limit {args.max_rss_slope})")
        end = mine[-1]
        if end["fds"] > s.baseline_fds + args.fd_tolerance:
            failures.append(f"{s.name}: {end['fds']} fds open after the load, baseline {s.baseline_fds} (+{args.fd_tolerance})")
        for gauge in ("calls_active", "subscribers_active", "sessions_active"):
            if end[gauge] not in ("", 0):
                failures.append(f"{s.name}: {gauge} is {end[gauge]} after the load (expected 0)")
        if end["sessions_active"] not in ("", 0):
            with KatoClient(s.address, tls=s.client_tls, timeout=30) as c:
                left = {n: c.count_sessions(n) for n in NODES + (f"soak-{s.name}", f"soak-{s.name}-warmup")}
            failures.append(f"{s.name}: sessions left per node: { {n: k for n, k in left.items() if k} }")
    return failures


def verify_learns(servers, acked, bin_dir) -> list[str]:
    """Every acknowledged learn is in the knowledge base: over gRPC while the server runs, then in
    the durable store after it stopped (`kato verify`, `kato export`)."""
    failures = []
    for s in servers:
        node = f"soak-{s.name}"
        mine = {name: n for (nd, name), n in acked.items() if nd == node}
        if not mine:
            failures.append(f"{s.name}: no learn was acknowledged")
            continue
        with KatoClient(s.address, tls=s.client_tls, timeout=30) as c:
            d = c.default_session(node)
            for name, n in mine.items():
                try:
                    freq = d.pattern(name).frequency
                    if freq < n:
                        failures.append(f"{s.name}: {name} has frequency {freq} < {n} acknowledged learns")
                except Exception as e:  # noqa: BLE001
                    failures.append(f"{s.name}: acknowledged {name} not found over gRPC: {e}")
        failures += s.stop()
        verify = subprocess.run([str(bin_dir / "kato"), "verify", "--data-dir", str(s.data_dir)],
                                capture_output=True, text=True, timeout=300)
        if verify.returncode != 0:
            failures.append(f"{s.name}: kato verify failed: {verify.stdout}{verify.stderr}")
        export = s.data_dir.parent / f"export-{s.name}.jsonl"
        exp = subprocess.run([str(bin_dir / "kato"), "export", "--data-dir", str(s.data_dir), "-o", str(export)],
                             capture_output=True, text=True, timeout=300)
        if exp.returncode != 0:
            failures.append(f"{s.name}: kato export failed: {exp.stdout}{exp.stderr}")
            continue
        stored = {}
        for line in export.read_text().splitlines():
            rec = json.loads(line)
            if rec.get("type") == "pattern" and rec.get("node_id") == node:
                stored[rec["name"]] = rec.get("frequency", 0)
        for name, n in mine.items():
            bare = name.split("|", 1)[-1]
            if stored.get(bare, 0) < n:
                failures.append(f"{s.name}: {name} stored with frequency {stored.get(bare)} < {n} acknowledged learns")
    return failures


if __name__ == "__main__":
    sys.exit(main())
