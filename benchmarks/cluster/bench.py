"""make bench-cluster (docs/BENCHMARKS.md, "Cluster" section; issue 12). In one run, release build:

1. load: `kato-load` (the 10,000-session load of `make load`) against (a) one embedded replica and
   (b) three replicas on one PostgreSQL behind HAProxy (deploy/haproxy.cfg), same flags; rps,
   p50/p99 and the server side's CPU per observe (every process that serves: the replica, or the
   three replicas + PostgreSQL's processes + HAProxy), and the ratio;
2. visibility: Learn on replica A (direct), then Observe + GetPredictions on replica B (direct):
   time from Learn's reply to B's reply holding the pattern; and the change feed's own lag
   (kato_kb_replication_lag_seconds on the other replicas: commit → applied);
3. join: a replica starting on a PostgreSQL that holds N patterns (kato-server bench-store fills
   an embedded store, export | import moves it in), time until it listens (= SERVING), with the
   embedded start-up of the same patterns as the reference.

Every process shares this machine's cores with the load generator (and whatever else runs).
  .venv/bin/python benchmarks/cluster/bench.py --bin DIR [--sessions N] [--observations N]
      [--concurrency N] [--learns N] [--startup-patterns N] [--startup-runs N] [--json OUT]
"""
import argparse
import json
import os
import pathlib
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "python"))
import grpc  # noqa: E402
from pg_support import PostgresServer  # noqa: E402
from kato_client._pb.kato.v2 import (  # noqa: E402
    observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc)

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pids):
    return sum(cpu_by_pid(pids).values())


def cpu_by_pid(pids):
    """{pid: user + system CPU seconds} of the processes still there."""
    out = {}
    for pid in pids:
        try:
            f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            out[pid] = (int(f[11]) + int(f[12])) / TICK
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def postmaster_on(port):
    """The pid of the PostgreSQL server listening on `port` (started with `-p PORT`)."""
    for d in os.listdir("/proc"):
        try:
            args = open(f"/proc/{d}/cmdline", "rb").read().split(b"\0")
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            continue
        if args and args[0].endswith(b"/postgres") and b"-p" in args and args[args.index(b"-p") + 1:][:1] == [str(port).encode()]:
            return int(d)
    raise RuntimeError(f"no PostgreSQL server on port {port}")


def children(pid):
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except FileNotFoundError:
        return []


class Server:
    """A kato-server with its output in a file (a pipe could fill under load and block it)."""

    def __init__(self, binary, *args, wait_ready=True, log_level="warning"):
        self.log = tempfile.NamedTemporaryFile(prefix="kato-bench-", suffix=".log", delete=False)
        self.port, self.admin_port = free_port(), free_port()
        self.started = time.time()
        self.proc = subprocess.Popen([str(binary), "--port", str(self.port), "--admin-port", str(self.admin_port),
                                      "--log-level", log_level, *args], stdout=self.log, stderr=subprocess.STDOUT)
        self.listening_after = None
        if wait_ready:
            self.wait_listening()

    def wait_listening(self, timeout=300):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if "listening on" in open(self.log.name).read(16384):
                self.listening_after = time.time() - self.started
                return self.listening_after
            if self.proc.poll() is not None:
                raise RuntimeError(f"kato-server exited: {open(self.log.name).read()[-2000:]}")
            time.sleep(0.005)
        raise RuntimeError("kato-server did not listen")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=10) as r:
            return r.read().decode()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log.name)


def run_load(bin_dir, port, a, groups):
    """kato-load against `port`; `groups()` names the serving processes: {part: [pid]} (asked
    again afterwards: PostgreSQL starts a backend per new pool connection during the run)."""
    before = {k: cpu_by_pid(v) for k, v in groups().items()}
    load0 = os.getloadavg()[0]
    gen0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([str(a.load_bin or bin_dir) + "/kato-load", "--port", str(port), "--sessions", str(a.sessions),
                          "--observations", str(a.observations), "--connections", str(a.connections),
                          "--concurrency", str(a.concurrency)], capture_output=True, text=True)
    gen1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = {k: cpu_by_pid(v) for k, v in groups().items()}
    if out.returncode != 0 and not out.stdout.strip():
        raise RuntimeError(f"kato-load failed: {out.stderr[-2000:]}")
    r = json.loads(out.stdout.strip().splitlines()[-1])
    calls = r["observe_calls"] + 2 * r["sessions"]  # + CreateSession and the STM check per session
    r["server_cpu_us_per_call"] = {
        part: sum(cpu - before[part].get(pid, 0) for pid, cpu in after[part].items()) * 1e6 / calls for part in after}
    r["server_cpu_us_per_call"]["total"] = sum(r["server_cpu_us_per_call"].values())
    r["load_average"] = [load0, os.getloadavg()[0]]
    r["generator_cpu_us_per_call"] = (gen1.ru_utime + gen1.ru_stime - gen0.ru_utime - gen0.ru_stime) * 1e6 / calls
    return r


def histogram(page, name):
    """{le: cumulative count} summed over every label set of histogram `name`."""
    buckets = {}
    for line in page.splitlines():
        if line.startswith(name + "_bucket"):
            le = re.search(r'le="([^"]+)"', line).group(1)
            buckets[float(le)] = buckets.get(float(le), 0) + float(line.rsplit(" ", 1)[1])
    return buckets


def bucket_quantile(before, after, q):
    """The upper bound of the bucket holding quantile q of the observations between two pages."""
    diff = sorted((le, after.get(le, 0) - before.get(le, 0)) for le in after)
    total = diff[-1][1] if diff else 0
    if total <= 0:
        return None, 0
    for le, n in diff:
        if n >= q * total:
            return le, total
    return float("inf"), total


def visibility(replicas, learns):
    """Learn on A, then Observe + GetPredictions on B: ms from Learn's reply to B's reply that
    holds the pattern (read-your-writes makes B catch up before it predicts)."""
    chans = [grpc.insecure_channel(r.address) for r in replicas]
    stubs = [(session_pb2_grpc.SessionServiceStub(c), observe_pb2_grpc.ObserveServiceStub(c),
              predict_pb2_grpc.PredictServiceStub(c)) for c in chans]
    pages0 = [r.metrics() for r in replicas]
    times, missing = [], 0
    node = "visibility"
    sa = stubs[0][0].CreateSession(session_pb2.CreateSessionRequest(node_id=node)).session_id
    sb = stubs[1][0].CreateSession(session_pb2.CreateSessionRequest(node_id=node)).session_id
    for i in range(learns):
        a, b = stubs[i % 2], stubs[(i + 1) % 2]  # alternate directions
        sid_a, sid_b = (sa, sb) if i % 2 == 0 else (sb, sa)
        x, y = f"vis-x{i}", f"vis-y{i}"
        b[1].Observe(observe_pb2.ObserveRequest(session_id=sid_b, strings=[x]))
        a[1].Observe(observe_pb2.ObserveRequest(session_id=sid_a, strings=[x]))
        a[1].Observe(observe_pb2.ObserveRequest(session_id=sid_a, strings=[y]))
        name = a[1].Learn(observe_pb2.LearnRequest(session_id=sid_a)).pattern_name
        t0 = time.perf_counter()
        b[1].Observe(observe_pb2.ObserveRequest(session_id=sid_b, strings=[y]))
        got = b[2].GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid_b))
        t1 = time.perf_counter()
        if name.removeprefix("PTRN|") not in {p.name for p in got.predictions}:
            missing += 1
        times.append((t1 - t0) * 1e3)
        b[1].ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid_b))
    pages1 = [r.metrics() for r in replicas]
    for c in chans:
        c.close()
    times.sort()
    lag0 = {}
    lag1 = {}
    for p0, p1 in zip(pages0, pages1):
        for le, n in histogram(p0, "kato_kb_replication_lag_seconds").items():
            lag0[le] = lag0.get(le, 0) + n
        for le, n in histogram(p1, "kato_kb_replication_lag_seconds").items():
            lag1[le] = lag1.get(le, 0) + n
    p50, n = bucket_quantile(lag0, lag1, 0.5)
    p99, _ = bucket_quantile(lag0, lag1, 0.99)
    return {
        "learns": learns, "missing": missing,
        "p50_ms": times[len(times) // 2], "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
        "max_ms": times[-1],
        "feed_changes": n, "feed_p50_le_ms": p50 and p50 * 1e3, "feed_p99_le_ms": p99 and p99 * 1e3,
    }


def favour(postmaster):
    """On a shared machine the join's wall time is the scheduler's: run the bench in an autogroup
    of its own at nice -20 (`setsid bash -c 'echo -20 > /proc/self/autogroup; exec …'`, as
    run.sh does; the servers it starts inherit it) and put PostgreSQL's server — a session of its
    own (pg_ctl starts it with setsid), its backends inherit it — at the same. The bench's
    autogroup nice, or None when it could not be read or set (not root, no autogroups)."""
    try:
        mine = int(open("/proc/self/autogroup").read().split("nice")[1])
        with open(f"/proc/{postmaster}/autogroup", "w") as f:
            f.write(str(mine))
        return mine
    except (OSError, IndexError, ValueError):
        return None


def startup(bin_dir, pg, a, tmp):
    """N patterns in PostgreSQL (database kato_join), then replicas joining it; the embedded start
    of the same data directory first, as the reference."""
    kato = bin_dir / "kato-server"
    tools = (a.tools_bin or bin_dir) / "kato-server"  # migrate-postgres, import
    if a.startup_url:
        # Filled earlier (--startup-url, --startup-data): the same patterns in both.
        url, data, fill, imported, patterns = a.startup_url, a.startup_data, None, None, None
        postmaster = postmaster_on(int(url.rsplit(":", 1)[1].split("/")[0]))
    else:
        data = tmp / "join-data"
        t = time.time()
        subprocess.run([str(kato), "bench-store", "--data-dir", str(data), "--startup-patterns", str(a.startup_patterns)],
                       check=True, capture_output=True)
        fill = time.time() - t
        kb = tmp / "kb.jsonl"
        with open(kb, "wb") as f:
            subprocess.run([str(kato), "export", "--data-dir", str(data)], check=True, stdout=f)
        r = pg.psql("CREATE DATABASE kato_join", database="postgres")
        assert r.returncode == 0, r.stderr
        url = pg.url(database="kato_join")
        t = time.time()
        subprocess.run([str(tools), "migrate-postgres", "--postgres", url], check=True, capture_output=True)
        subprocess.run([str(tools), "import", "--postgres", url, "--input", str(kb)], check=True, capture_output=True)
        imported = time.time() - t
        patterns = int(pg.psql("SELECT count(*) FROM kb_patterns", database="kato_join").stdout.strip())
        kb.unlink()
        postmaster = int(open(pg.data / "postmaster.pid").readline())

    loaded = []

    def timed(binary, args):
        """(wall to listening, the server's CPU, PostgreSQL's CPU meanwhile, the load the server logged)."""
        pg0 = cpu_by_pid([postmaster] + children(postmaster))
        s = Server(binary, *args, wait_ready=False, log_level="info")
        try:
            wall = s.wait_listening()
            cpu = cpu_seconds([s.proc.pid])
            # Backends that started meanwhile count whole; the load's connection is still open.
            pg1 = cpu_by_pid([postmaster] + children(postmaster))
            pg_cpu = sum(v - pg0.get(pid, 0) for pid, v in pg1.items())
            # The server's log lines are buffered: the load's line may come after "listening on".
            deadline = time.time() + 5
            log = open(s.log.name).read()
            while "patterns=" not in log and time.time() < deadline:
                time.sleep(0.05)
                log = open(s.log.name).read()
            n = re.search(r"patterns=([0-9]+)", log)
            loaded.append(int(n.group(1)) if n else None)
            m = re.search(r"load=([0-9.e+-]+) seconds", log)  # PostgreSQL's; the embedded store logs load_ms
            ms = re.search(r"load_ms=([0-9]+)", log)
            return wall, cpu, pg_cpu, float(m.group(1)) if m else (int(ms.group(1)) / 1000 if ms else None)
        finally:
            s.stop()
    # PostgreSQL's processes at the bench's own priority (its autogroup, see `favour`).
    favoured = favour(postmaster)
    load0 = os.getloadavg()
    # Alternated, start after start: embedded, the previous build (--before-bin: the "before" of a
    # change, same run), this one — so a change in the machine's load hits all three alike.
    embedded, before, joined = [], [], []
    for _ in range(a.startup_runs):
        embedded.append(timed(kato, ["--data-dir", str(data)]))
        if a.before_bin:
            before.append(timed(a.before_bin / "kato-server", ["--in-memory", "--postgres", url]))
        joined.append(timed(kato, ["--in-memory", "--postgres", url]))
    load1 = os.getloadavg()
    if not a.startup_url:
        shutil.rmtree(data, ignore_errors=True)

    def columns(runs):
        return {"s": [r[0] for r in runs], "cpu_s": [r[1] for r in runs], "pg_cpu_s": [r[2] for r in runs],
                "load_s": [r[3] for r in runs]}
    return {"patterns": patterns or max(n for n in loaded if n is not None), "fill_s": fill, "import_s": imported,
            "load_average": [load0[0], load1[0]], "autogroup_nice": favoured, "embedded": columns(embedded),
            "before": columns(before) if before else None, "postgres": columns(joined)}


def table(results, command):
    """The generated part of docs/BENCHMARKS.md's cluster section (between its markers)."""
    lines = [f"`{command}` — {results['date']}, {results['build']} build, {results['cores']} cores shared by every process below "
             "and the load generator.", ""]
    e, c = results.get("embedded"), results.get("cluster")
    if e and c:
        lines += ["| setup | sessions | observe calls | errors | leaks | observe rps | p50 | p99 | create rps | server CPU per call | load avg (before → after) |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
        for name, r in (("one embedded replica", e), ("3 replicas + PostgreSQL + HAProxy", c)):
            cpu = r["server_cpu_us_per_call"]
            split = ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items() if k != "total")
            lines.append(f"| {name} | {r['sessions']:,} | {r['observe_calls']:,} | {r['errors']} | {r['leaks']} | "
                         f"{r['observe_rps']:,.0f} | {r['observe_p50_us'] / 1000:.2f} ms | {r['observe_p99_us'] / 1000:.2f} ms | "
                         f"{r['create_rps']:,.0f} | {cpu['total']:,.0f} µs" + (f" ({split})" if len(cpu) > 2 else "") +
                         f" | {r['load_average'][0]:.1f} → {r['load_average'][1]:.1f} |")
        lines += ["", f"Cluster / embedded: rps × {c['observe_rps'] / e['observe_rps']:.3f}, p50 × "
                  f"{c['observe_p50_us'] / e['observe_p50_us']:.1f}, p99 × {c['observe_p99_us'] / e['observe_p99_us']:.1f}, "
                  f"server CPU per call × {c['server_cpu_us_per_call']['total'] / e['server_cpu_us_per_call']['total']:.1f}. "
                  f"10,000 sessions at 5,000 rps through the cluster: **{'met' if c['observe_rps'] >= 5000 and c['sessions'] >= 10000 and c['errors'] == 0 else 'not met'}** "
                  f"({c['observe_rps']:,.0f} rps with {c['sessions']:,} sessions). PostgreSQL ran "
                  f"{c.get('pg_transactions_per_call', 0):.2f} transactions per call"
                  + (" (session calls committed speculatively in one statement / after a refresh / on the locked path: "
                     + " / ".join(f"{c['speculative'].get(k, 0):,.0f}" for k in ("current", "refreshed", "locked")) + ")"
                     if c.get("speculative") else "")
                  + (f"; their fetches and writes went in {c['batches']['batches']:,.0f} batch statements, "
                     f"{c['batches']['batched_requests'] / c['batches']['batches']:.1f} per statement"
                     if c.get("batches", {}).get("batches") else "") +
                  f". The load generator (kato-load) used "
                  f"{e['generator_cpu_us_per_call']:,.0f} / {c['generator_cpu_us_per_call']:,.0f} µs of CPU per call.", ""]
    v = results.get("visibility")
    if v:
        lines += [f"Cross-replica visibility ({v['learns']} learns, alternately on A and B): Learn's reply on A → B's "
                  f"Observe + GetPredictions holding the pattern: p50 {v['p50_ms']:.1f} ms, p99 {v['p99_ms']:.1f} ms, "
                  f"max {v['max_ms']:.1f} ms; missing from B's prediction: {v['missing']}. "
                  f"Change feed alone (kato_kb_replication_lag_seconds, commit → applied, {v['feed_changes']:.0f} changes on the "
                  f"other replicas): p50 ≤ {v['feed_p50_le_ms']:g} ms, p99 ≤ {v['feed_p99_le_ms']:g} ms (histogram bucket bounds). "
                  f"Target p99 ≤ 50 ms: **{'met' if v['p99_ms'] <= 50 else 'not met'}** end to end.", ""]
    s = results.get("startup")
    if s:
        med = statistics.median

        def runs(r):
            load = [x for x in r["load_s"] if x is not None]
            return (f"median **{med(r['s']):.2f} s** ({' / '.join(f'{x:.2f}' for x in r['s'])}), server CPU median "
                    f"{med(r['cpu_s']):.2f} s, PostgreSQL CPU median {med(r['pg_cpu_s']):.2f} s"
                    + (f", of which the knowledge-base load (logged) median {med(load):.2f} s" if load and len(load) == len(r["load_s"]) else ""))
        filled = (f" (filled by `bench-store` in {s['fill_s']:.0f} s, `export | import` in {s['import_s']:.0f} s)"
                  if s["fill_s"] is not None else " (filled before the run: --startup-url, --startup-data)")
        lines += [f"Joining with {s['patterns']:,} patterns in PostgreSQL{filled}: start → listening (SERVING), {len(s['postgres']['s'])} starts: "
                  f"{runs(s['postgres'])}; the same patterns embedded (SQLite, `--data-dir`): {runs(s['embedded'])}."
                  + (f" The previous build (`--before-bin {results['args'].get('before_bin')}`), same database, same run: "
                     f"{runs(s['before'])}." if s.get("before") else "")
                  + f" Target < 3 s: **{'met' if med(s['postgres']['s']) < 3 else 'not met'}**."
                  + (f" Load average {s['load_average'][0]:.1f} → {s['load_average'][1]:.1f}"
                     + (f", the bench and PostgreSQL in an autogroup at nice {s['autogroup_nice']}." if s.get("autogroup_nice") is not None
                        else ", default priority.") if s.get("load_average") else ""), ""]
    return "\n".join(lines)


def write_section(text):
    doc = ROOT / "docs" / "BENCHMARKS.md"
    page = doc.read_text()
    start, end = "<!-- cluster-bench:start -->", "<!-- cluster-bench:end -->"
    if start in page:
        page = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda m: f"{start}\n{text}\n{end}", page, flags=re.S)
    else:
        page = page.rstrip() + f"\n\n## Cluster (issue 12)\n\n{start}\n{text}\n{end}\n"
    doc.write_text(page)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bin", required=True, type=pathlib.Path)
    p.add_argument("--sessions", type=int, default=10_000)
    p.add_argument("--observations", type=int, default=10)
    p.add_argument("--connections", type=int, default=4)
    p.add_argument("--concurrency", type=int, default=16, help="calls in flight")
    p.add_argument("--pool-size", type=int, default=10)
    p.add_argument("--haproxy-cfg", type=pathlib.Path, default=ROOT / "deploy" / "haproxy.cfg")
    p.add_argument("--load-bin", type=pathlib.Path, help="where kato-load is (default --bin)")
    p.add_argument("--tools-bin", type=pathlib.Path, help="the kato-server that fills PostgreSQL (default --bin)")
    p.add_argument("--learns", type=int, default=200)
    p.add_argument("--startup-patterns", type=int, default=1_000_000)
    p.add_argument("--startup-runs", type=int, default=3)
    p.add_argument("--startup-url", help="join this database (filled already) instead of filling one; needs --startup-data")
    p.add_argument("--startup-data", type=pathlib.Path, help="the embedded data directory holding the same patterns")
    p.add_argument("--build", help="the build type named in the section (default: guessed from --bin's path)")
    p.add_argument("--before-bin", type=pathlib.Path, help="a previous build whose join is timed too, in the same run")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: load,visibility,startup")
    p.add_argument("--json", type=pathlib.Path)
    p.add_argument("--write", action="store_true", help="replace the generated part of docs/BENCHMARKS.md's cluster section")
    p.add_argument("--command", default="make bench-cluster", help="the command named in the section")
    a = p.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    results = {"args": {k: str(v) for k, v in vars(a).items()}, "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%MZ", time.gmtime()),
               "build": a.build or ("release" if "release" in str(a.bin) else "debug")}
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="kato-bench-cluster-"))
    kato = a.bin / "kato-server"
    try:
        if "load" not in skip:
            embedded = Server(kato, "--data-dir", str(tmp / "embedded"))
            try:
                results["embedded"] = run_load(a.bin, embedded.port, a, lambda: {"replica": [embedded.proc.pid]})
                print("embedded", json.dumps(results["embedded"]), flush=True)
            finally:
                embedded.stop()
        if a.startup_url and {"load", "visibility"} <= skip:
            # Only the join, on a database filled before: no cluster of our own.
            if "startup" not in skip:
                results["startup"] = startup(a.bin, None, a, tmp)
                print("startup", json.dumps(results["startup"]), flush=True)
        else:
            pg = PostgresServer()
            replicas, haproxy = [], None
            try:
                for _ in range(3):
                    replicas.append(Server(kato, "--in-memory", "--postgres", pg.url(), "--postgres-pool-size", str(a.pool_size),
                                           "--drain-delay", "0"))
                lb = free_port()
                env = {**os.environ, "KATO_LB_BIND": f"127.0.0.1:{lb}"}
                for i, r in enumerate(replicas, 1):
                    env[f"KATO_R{i}"], env[f"KATO_R{i}_ADMIN_PORT"] = r.address, str(r.admin_port)
                hlog = open(tmp / "haproxy.log", "w")
                haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(a.haproxy_cfg)], env=env,
                                           stdout=hlog, stderr=subprocess.STDOUT)
                time.sleep(2)  # listening, and every replica's first health check passed
                assert haproxy.poll() is None, open(tmp / "haproxy.log").read()
                postmaster = int(open(pg.data / "postmaster.pid").readline())

                def cluster_pids():
                    return {"replicas": [r.proc.pid for r in replicas], "haproxy": [haproxy.pid],
                            "postgres": [postmaster] + children(postmaster)}
                if "load" not in skip:
                    stats = "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'kato'"
                    x0 = int(pg.psql(stats).stdout.strip())
                    c = run_load(a.bin, lb, a, cluster_pids)
                    # Transactions PostgreSQL ran per gRPC call (the counters lag up to 500 ms).
                    time.sleep(1)
                    c["pg_transactions_per_call"] = (int(pg.psql(stats).stdout.strip()) - x0) / (c["observe_calls"] + 2 * c["sessions"])
                    # Speculative session calls by outcome, summed over the replicas (docs/SCALING.md).
                    c["speculative"] = {}
                    c["batches"] = {}
                    for r in replicas:
                        page = r.metrics()
                        for m in re.finditer(r'^kato_session_speculative_total\{outcome="(\w+)"\} (\S+)$', page, re.M):
                            c["speculative"][m.group(1)] = c["speculative"].get(m.group(1), 0) + float(m.group(2))
                        # Batched session statements (group commit; builds before it have none).
                        for m in re.finditer(r'^kato_session_(batches|batched_requests)_total (\S+)$', page, re.M):
                            c["batches"][m.group(1)] = c["batches"].get(m.group(1), 0) + float(m.group(2))
                    results["cluster"] = c
                    print("cluster", json.dumps(c), flush=True)
                if "visibility" not in skip:
                    results["visibility"] = visibility(replicas, a.learns)
                    print("visibility", json.dumps(results["visibility"]), flush=True)
                for r in replicas:
                    r.stop()
                replicas = []
                if "startup" not in skip:
                    results["startup"] = startup(a.bin, pg, a, tmp)
                    print("startup", json.dumps(results["startup"]), flush=True)
            finally:
                if haproxy is not None and haproxy.poll() is None:
                    haproxy.terminate()
                    haproxy.wait()
                for r in replicas:
                    r.stop()
                pg.destroy()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    text = table(results, a.command)
    print(text)
    if a.write:
        write_section(text)
    return results


if __name__ == "__main__":
    main()
