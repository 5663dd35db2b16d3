"""Zero-downtime restart of a single node (embedded SQLite store): a successor started with
`--take-over` (or by `kato-server restart` / SIGUSR2) preloads the knowledge base while the running
server serves, receives its listening socket over `<data-dir>/handover.sock` (SCM_RIGHTS), and once
the predecessor has drained and closed the store, every session and the nodes it committed since
the preload. Observed through real clients (grpcio and the Python client, which resumes
subscriptions by itself) on real sockets (docs/OPERATIONS.md "Restart and upgrade").
"""
import fcntl
import hashlib
import json
import shutil
import os
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import grpc
from google.protobuf import struct_pb2, wrappers_pb2

from kato_client import KatoClient
from kato_client._pb.kato.v2 import (knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc,
                                     session_pb2, session_pb2_grpc, types_pb2)

from conftest import RunningServer, start_kato_server
from security_support import metric

NODE = "restart"


STILL = "restart-untouched"


def list_patterns(channel, node):
    response = knowledge_pb2_grpc.KnowledgeBaseServiceStub(channel).ListPatterns(
        knowledge_pb2.ListPatternsRequest(node_id=node, page_size=100), timeout=10)
    return [(p.name, p.frequency) for p in response.patterns]


def start_successor(binaries, data, *extra):
    return RunningServer([str(binaries / "kato-server"), "--port", "0", "--log-level", "warning",
                          "--data-dir", data, "--take-over", *extra])


def stm(stub, session_id="", node_id=""):
    data = stub.GetCognitionData(predict_pb2.GetCognitionDataRequest(session_id=session_id, node_id=node_id), timeout=10)
    return [list(e.symbols) for e in data.short_term_memory]


def calls_started(admin, method=None):
    """grpc_server_started_total on the admin port: of `method`, or of every method."""
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as r:
        page = r.read().decode()
    if method:
        return metric(page, "grpc_server_started_total", grpc_method=method)
    return sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines() if line.startswith("grpc_server_started_total{"))


def wait_until(predicate, what, timeout=30):
    """Polls `predicate` until it holds; `timeout` is a budget for a loaded machine."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def wait_exit(proc, seconds=40):
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError("the predecessor did not exit after handing over")


def stop_successor(pid, seconds=30):
    """Stops a successor the test did not start itself (`kato-server restart` started it, so only
    its pid is known): SIGTERM, then up to `seconds` for it to be gone. None: nothing to stop."""
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)

class Load:
    """Workers on their own grpcio channels (which reconnect after GOAWAY): each observes a
    session of its own (STM checked afterwards), its node's default session, and learns on a
    second session (every acknowledged pattern checked afterwards)."""

    def __init__(self, address, workers=4):
        self.address = address
        self.stop = threading.Event()
        self.failures = []
        self.learned = []
        self.calls = 0
        self.slowest = 0.0
        self.lock = threading.Lock()
        with grpc.insecure_channel(address) as ch:
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            new = lambda: sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=NODE), timeout=10).session_id
            self.observed = {new(): [] for _ in range(workers)}
            self.learning = [new() for _ in range(workers)]
        self.defaults = {f"{NODE}-default-{w}": [] for w in range(workers)}
        self.threads = [threading.Thread(target=self.work, args=(w,)) for w in range(workers)]

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)

    def assert_intact(self, predict):
        """Every acknowledged learn is a pattern, every session's and default session's STM is
        what the acknowledged observes left, as seen through `predict` (the successor's stub)."""
        for name in self.learned:
            predict.GetPattern(predict_pb2.GetPatternRequest(node_id=NODE, name=name), timeout=10)
        for sid, expected in self.observed.items():
            assert stm(predict, session_id=sid) == expected, f"session {sid}'s STM changed across the hand-over"
        for node, expected in self.defaults.items():
            assert stm(predict, node_id=node) == expected, f"default session of {node} changed across the hand-over"

    def call(self, fn, *args):
        started = time.monotonic()
        try:
            result = fn(*args, timeout=30)
        except grpc.RpcError as e:
            with self.lock:
                self.failures.append(f"{fn._method if hasattr(fn, '_method') else fn}: {e.code()} {e.details()}")
            raise
        with self.lock:
            self.calls += 1
            self.slowest = max(self.slowest, time.monotonic() - started)
        return result

    def work(self, w):
        observed_sid = list(self.observed)[w]
        default_node = list(self.defaults)[w]
        learn_sid = self.learning[w]
        with grpc.insecure_channel(self.address) as ch:
            stub = observe_pb2_grpc.ObserveServiceStub(ch)
            i = 0
            while not self.stop.is_set() and i < 900:  # under the STM's 1000-event safety limit
                try:
                    symbol = f"o{w}-{i}"
                    self.call(stub.Observe, observe_pb2.ObserveRequest(session_id=observed_sid, strings=[symbol]))
                    self.observed[observed_sid].append([symbol])
                    self.call(stub.Observe, observe_pb2.ObserveRequest(node_id=default_node, strings=[symbol]))
                    self.defaults[default_node].append([symbol])
                    self.call(stub.Observe, observe_pb2.ObserveRequest(session_id=learn_sid, strings=[f"l{w}-{i}"]))
                    self.call(stub.Observe, observe_pb2.ObserveRequest(session_id=learn_sid, strings=[f"m{w}-{i}"]))
                    learned = self.call(stub.Learn, observe_pb2.LearnRequest(session_id=learn_sid))
                    with self.lock:
                        self.learned.append(learned.pattern_name)
                except grpc.RpcError:
                    return
                i += 1


def test_take_over_under_load_fails_no_call_and_keeps_every_learn_session_and_subscription(binaries, tmp_path):
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data, "--shutdown-grace", "10")
    # A node nobody writes to during the hand-over: the successor keeps its preloaded copy.
    with grpc.insecure_channel(old.address) as ch:
        still = observe_pb2_grpc.ObserveServiceStub(ch)
        for a, b in (("s1", "s2"), ("s3", "s4")):
            still.Observe(observe_pb2.ObserveRequest(node_id=STILL, strings=[a]), timeout=10)
            still.Observe(observe_pb2.ObserveRequest(node_id=STILL, strings=[b]), timeout=10)
            still.Learn(observe_pb2.LearnRequest(node_id=STILL), timeout=10)
        still_before = list_patterns(ch, STILL)
    load = Load(old.address)
    # A subscriber through the Python client, which resumes by itself after SERVER_DRAINING.
    client = KatoClient(old.address)
    watched = client.attach(load.learning[0])
    subscription = watched.subscribe(send_initial=True)
    updates = []
    subscriber = threading.Thread(target=lambda: [updates.append(u) for u in subscription])
    subscriber.start()
    successor = None
    try:
        # The subscription is held by the predecessor (its INITIAL update came) and the load has made
        # calls there, before the hand-over: otherwise either could start on the successor and
        # resume nothing / run nothing before, which is what the test checks.
        wait_until(lambda: updates, "the subscription's INITIAL update")
        load.start()
        wait_until(lambda: load.calls >= 20 or load.failures, "calls of the load before the hand-over")
        before = load.calls
        successor = start_successor(binaries, data)
        assert successor.address == old.address, "the successor serves the predecessor's listening socket"
        assert wait_exit(old.proc) == 0
        handed_over = load.calls
        wait_until(lambda: load.calls >= handed_over + 20 or load.failures, "calls of the load after the hand-over")
        load.finish()
        assert load.failures == [], f"calls failed across the hand-over: {load.failures[:5]}"
        assert before > 0 and load.calls > handed_over, "the load ran before and after the hand-over"
        with grpc.insecure_channel(successor.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            load.assert_intact(predict)
            final = stm(predict, session_id=load.learning[0])
            assert list_patterns(ch, STILL) == still_before, "the untouched node's preloaded knowledge base differs"
        deadline = time.time() + 30
        while time.time() < deadline and (not updates or [list(e) for e in updates[-1].stm] != final):
            time.sleep(0.1)
        assert subscription.resumed >= 1, "the subscription never had to resume: the hand-over did not end it"
        assert [list(e) for e in updates[-1].stm] == final, "the resumed subscription did not follow the session"
        sequences = [u.sequence for u in updates]
        assert sequences == sorted(sequences), f"sequences went backwards across the hand-over: {sequences[-20:]}"
        assert len(load.learned) > 0
        print(f"hand-over under load: {load.calls} calls ({handed_over - before} during the hand-over), 0 failed, "
              f"{len(load.learned)} learns checked, slowest call {load.slowest * 1000:.0f} ms, "
              f"subscription resumed {subscription.resumed}x, {len(updates)} updates")
    finally:
        subscription.close()
        client.close()
        subscriber.join(10)
        load.stop.set()
        if successor:
            successor.stop()
        old.stop()


def learn_cut_off_by_a_restart(binaries, data, old, stub, request):
    """Sends `request` (a Learn whose commit the server `old` delays past its grace period), starts a
    successor on `data` while it waits, and checks the Learn was cut off with UNAVAILABLE.
    Returns the successor."""
    admin = old.admin()
    result = {}

    def learn():
        try:
            result["response"] = stub.Learn(request, timeout=30)
        except grpc.RpcError as e:
            result["error"] = e

    t = threading.Thread(target=learn)
    t.start()
    # The predecessor has taken the learn (it then waits for its slow commit): a successor started
    # before that would receive the learn itself (grpcio sends it again after GOAWAY) and serve it.
    wait_until(lambda: calls_started(admin, "Learn") >= 1, "the predecessor to take the Learn")
    successor = start_successor(binaries, data)
    t.join(30)
    try:
        assert "error" in result, "a call longer than the grace period was expected to be cut off"
        assert result["error"].code() == grpc.StatusCode.UNAVAILABLE, result["error"]
    except AssertionError:
        successor.stop()
        raise
    return successor


def test_call_that_outlasts_the_grace_period_gets_unavailable_and_its_commit_still_reaches_the_successor(binaries, tmp_path):
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data, "--shutdown-grace", "1", "--enable-test-faults",
                            env={"KATO_TEST_STORE_COMMIT_DELAY_MS": "8000"})  # the successor's start must fit in it
    successor = None
    try:
        with grpc.insecure_channel(old.address) as ch:
            stub = observe_pb2_grpc.ObserveServiceStub(ch)
            stub.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=["slow-a"]), timeout=10)
            stub.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=["slow-b"]), timeout=10)
            successor = learn_cut_off_by_a_restart(binaries, data, old, stub, observe_pb2.LearnRequest(node_id=NODE))
        assert wait_exit(old.proc) == 0
        # The predecessor's store committed the learn before handing over; the successor re-read the node.
        with grpc.insecure_channel(successor.address) as ch:
            stats = knowledge_pb2_grpc.KnowledgeBaseServiceStub(ch).GetKnowledgeBaseStatistics(
                knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=NODE), timeout=10)
        assert stats.pattern_count == 1, "the learn committed during the drain is missing in the successor"
    finally:
        if successor:
            successor.stop()
        old.stop()


def test_call_cut_off_by_the_grace_period_leaves_its_session_in_the_successor_as_it_left_it(binaries, tmp_path):
    """A Learn on a named session outlives the 1 s grace period (its commit takes 8 s): the old
    process waits for the cut-off handler (bounded, GRPCServer.shutdown) and seals each session as
    it snapshots it, so the successor's copy of the session agrees with the knowledge base — the
    learn cleared the STM and its pattern is there — and the session keeps taking calls."""
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data, "--shutdown-grace", "1", "--enable-test-faults",
                            env={"KATO_TEST_STORE_COMMIT_DELAY_MS": "8000"})  # the successor's start must fit in it
    successor = None
    try:
        with grpc.insecure_channel(old.address) as ch:
            session_id = session_pb2_grpc.SessionServiceStub(ch).CreateSession(
                session_pb2.CreateSessionRequest(node_id=NODE, ttl_seconds=600), timeout=10).session_id
            stub = observe_pb2_grpc.ObserveServiceStub(ch)
            for symbol in ("cut-a", "cut-b"):
                stub.Observe(observe_pb2.ObserveRequest(session_id=session_id, strings=[symbol]), timeout=10)
            successor = learn_cut_off_by_a_restart(binaries, data, old, stub, observe_pb2.LearnRequest(session_id=session_id))
        assert wait_exit(old.proc) == 0
        with grpc.insecure_channel(successor.address) as ch:
            stats = knowledge_pb2_grpc.KnowledgeBaseServiceStub(ch).GetKnowledgeBaseStatistics(
                knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=NODE), timeout=10)
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            learned, left = stats.pattern_count, stm(predict, session_id=session_id)
            # Either the learn happened (pattern there, STM cleared) or it did not (no pattern, STM
            # as observed); a mix would be a session changed behind the successor's copy.
            assert (learned, left) in [(1, []), (0, [["cut-a"], ["cut-b"]])], (learned, left)
            assert learned == 1, "the learn's commit finished on the old side before the hand-over; it must be there"
            observe_pb2_grpc.ObserveServiceStub(ch).Observe(
                observe_pb2.ObserveRequest(session_id=session_id, strings=["after"]), timeout=10)
            assert stm(predict, session_id=session_id) == [["after"]]
    finally:
        if successor:
            successor.stop()
        old.stop()


def digest(directory):
    h = hashlib.sha256()
    for name in sorted(os.listdir(directory)):
        path = os.path.join(directory, name)
        if os.path.isfile(path) and name not in ("LOCK",):
            with open(path, "rb") as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def test_take_over_without_a_running_server_exits_non_zero_and_touches_nothing(binaries, tmp_path):
    data = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data)
    with grpc.insecure_channel(server.address) as ch:
        observe_pb2_grpc.ObserveServiceStub(ch).Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=["x"]), timeout=10)
    server.stop()
    before = digest(data)
    run = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--data-dir", data, "--take-over"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "no running kato-server hands over" in run.stderr, run.stderr
    assert digest(data) == before


def test_take_over_from_an_owner_that_never_answers_times_out_and_touches_nothing(binaries, tmp_path):
    data = tmp_path / "data"
    server = start_kato_server(binaries, "--data-dir", str(data))
    server.stop()
    before = digest(str(data))
    # An owner that holds the lock and accepts on the control socket but never answers (a hung server).
    lock = open(data / "LOCK", "w")
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    mute = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    mute.bind(str(data / "handover.sock"))
    mute.listen(1)
    try:
        started = time.monotonic()
        run = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--data-dir", str(data), "--take-over",
                              "--take-over-timeout", "1"], capture_output=True, text=True, timeout=60)
        assert run.returncode != 0
        assert "did not hand over within" in run.stderr, run.stderr
        assert time.monotonic() - started < 20
    finally:
        mute.close()
        os.unlink(data / "handover.sock")
        lock.close()
    assert digest(str(data)) == before


def test_restart_command_starts_a_successor_that_keeps_the_port_and_the_sessions(binaries, tmp_path):
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data)
    successor_pid = None
    try:
        config = types_pb2.SessionConfig(max_predictions=wrappers_pb2.Int64Value(value=7),
                                         recall_threshold=wrappers_pb2.DoubleValue(value=0.25))
        metadata = struct_pb2.Struct()
        metadata.update({"owner": "restart-test", "n": 3})
        with grpc.insecure_channel(old.address) as ch:
            created = session_pb2_grpc.SessionServiceStub(ch).CreateSession(
                session_pb2.CreateSessionRequest(node_id=NODE, ttl_seconds=120, config=config, metadata=metadata), timeout=10)
            sid = created.session_id
            observe_pb2_grpc.ObserveServiceStub(ch).Observe(
                observe_pb2.ObserveRequest(session_id=sid, strings=["kept"]), timeout=10)
        run = subprocess.run([str(binaries / "kato-server"), "restart", "--data-dir", data, "--timeout", "60"],
                             capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr
        assert wait_exit(old.proc) == 0
        successor_pid = int(open(os.path.join(data, "LOCK")).read().strip())
        assert successor_pid != old.proc.pid
        with grpc.insecure_channel(old.address) as ch:
            assert stm(predict_pb2_grpc.PredictServiceStub(ch), session_id=sid) == [["kept"]]
            after = session_pb2_grpc.SessionServiceStub(ch).GetSession(session_pb2.GetSessionRequest(session_id=sid), timeout=10)
        assert (after.ttl_seconds, after.config, after.metadata, after.created_at, after.node_id) == \
            (120, created.config, created.metadata, created.created_at, NODE), "the session's settings changed across the hand-over"
        assert after.config.max_predictions.value == 7 and after.config.recall_threshold.value == 0.25
    finally:
        stop_successor(successor_pid)
        old.stop()


def test_upgrade_by_replacing_the_binary_then_restarting_runs_the_new_file(binaries, tmp_path):
    """The successor is started from the predecessor's argv[0]: a file replaced there (an upgrade)
    is what runs next. (The replacement is a copy of the same build: what is checked is which file
    the successor runs, through its inode.)"""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    installed = bin_dir / "kato-server"
    os.link(binaries / "kato-server", installed)
    data = str(tmp_path / "data")
    old = RunningServer([str(installed.resolve()), "--port", "0", "--log-level", "warning", "--data-dir", data])
    successor_pid = None
    try:
        staged = bin_dir / "kato-server.new"
        shutil.copy2(binaries / "kato-server", staged)
        os.replace(staged, installed)  # what a package manager does: a new file under the old name
        run = subprocess.run([str(installed), "restart", "--data-dir", data, "--timeout", "60"],
                             capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr
        successor_pid = int(open(os.path.join(data, "LOCK")).read().strip())
        assert os.stat(f"/proc/{successor_pid}/exe").st_ino == os.stat(installed).st_ino, \
            "the successor does not run the replaced binary"
        assert os.stat(f"/proc/{successor_pid}/exe").st_ino != os.stat(binaries / "kato-server").st_ino
        with grpc.insecure_channel(old.address) as ch:
            observe_pb2_grpc.ObserveServiceStub(ch).Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=["up"]), timeout=10)
    finally:
        stop_successor(successor_pid)
        old.stop()


def test_restart_under_swift_client_load_fails_no_call(binaries, tmp_path):
    """kato's Swift GRPCClient (kato-load) through `kato-server restart`: after the predecessor's
    GOAWAY it opens a new connection by itself for new calls, and sends again the calls the
    predecessor refused unprocessed. Two loads at once: durable learns (ObserveSequence +
    learn_at_end) and sessions observing then learning (3 Observe + Learn, the session carried over)."""
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data)
    admin = old.admin()
    successor_pid = None
    loads = []
    try:
        for rpc, node in (("sequence", "swift-seq"), ("observe-learn", "swift-obs")):
            loads.append(subprocess.Popen(
                [str(binaries / "kato-load"), "--mode", "learn", "--port", str(old.port), "--writers", "6", "--connections", "2",
                 "--seconds", "12", "--learn-rpc", rpc, "--learn-node", node],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        # Both loads run on the predecessor before the restart (and have seconds left after it).
        wait_until(lambda: calls_started(admin, "ObserveSequence") >= 1 and calls_started(admin, "Learn") >= 1,
                   "both loads' first calls on the predecessor")
        run = subprocess.run([str(binaries / "kato-server"), "restart", "--data-dir", data, "--timeout", "60"],
                             capture_output=True, text=True, timeout=90)
        assert run.returncode == 0, run.stderr
        successor_pid = int(open(os.path.join(data, "LOCK")).read().strip())
        reports = []
        for load in loads:
            out, err = load.communicate(timeout=120)
            assert out.strip(), f"kato-load printed nothing: {err[-2000:]}"
            reports.append(json.loads(out.strip().splitlines()[-1]))
        assert wait_exit(old.proc) == 0
        for report in reports:
            assert report["errors"] == 0, report
            assert report["learns"] > 0, report
            assert report["reconnects"] >= 2, f"the client did not open new connections after GOAWAY: {report}"
        for report in reports:
            print(f"Swift client ({report['learn_rpc']}) through kato-server restart: {report['learns']} learns, 0 errors, "
                  f"{report['reconnects']} reconnections, p99 {report['learn_p99_ms']:.0f} ms")
    finally:
        for load in loads:
            if load.poll() is None:
                load.kill()
        stop_successor(successor_pid)
        old.stop()


def test_swift_client_without_reconnecting_fails_calls_after_a_restart(binaries, tmp_path):
    """The counter-check of the test above: with reconnecting off (`--no-reconnect`) the same
    load through a restart does fail calls, so the 0 there is the client's doing."""
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data)
    admin = old.admin()
    successor = None
    try:
        load = subprocess.Popen([str(binaries / "kato-load"), "--mode", "learn", "--port", str(old.port), "--writers", "4",
                                 "--connections", "2", "--seconds", "10", "--no-reconnect"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        # The load runs on the predecessor (and has seconds left) when the successor takes over.
        wait_until(lambda: calls_started(admin) >= 10, "the load's calls on the predecessor")
        successor = start_successor(binaries, data)
        out, err = load.communicate(timeout=120)
        report = json.loads(out.strip().splitlines()[-1])
        assert report["errors"] > 0 and report["reconnects"] == 0, report
    finally:
        if successor:
            successor.stop()
        old.stop()

class AdminPoller:
    """Probes on the admin port as a kubelet and Prometheus make them: a new connection per
    request, `/health/ready` and `/metrics` in turn; every outcome recorded."""

    def __init__(self, admin, threads=3):
        self.host, port = admin.rsplit(":", 1)
        self.port = int(port)
        self.stop = threading.Event()
        self.outcomes = []  # (path, status or the error)
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(threads)]

    def get(self, path):
        import http.client
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def run(self):
        while not self.stop.is_set():
            for path in ("/health/ready", "/metrics"):
                try:
                    outcome = self.get(path)
                except OSError as e:
                    outcome = repr(e)
                with self.lock:
                    self.outcomes.append((path, outcome))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(30)

    def count(self):
        with self.lock:
            return len(self.outcomes)


def test_restart_hands_over_the_admin_port_so_probes_and_scrapes_are_never_refused(binaries, tmp_path):
    """The admin port's listening socket travels with the gRPC one (SCM_RIGHTS): probes and
    scrapes that arrive while the predecessor drains and before the successor accepts wait in the
    socket's queue instead of being refused, and `/health/ready` stays 200 through a hand-over."""
    data = str(tmp_path / "data")
    old = start_kato_server(binaries, "--data-dir", data, "--admin-port", "0")
    admin = old.admin()
    successor_pid = None
    try:
        with AdminPoller(admin) as poller:
            wait_until(lambda: poller.count() >= 10, "probes before the restart")
            before = poller.count()
            run = subprocess.run([str(binaries / "kato-server"), "restart", "--data-dir", data, "--timeout", "60"],
                                 capture_output=True, text=True, timeout=90)
            assert run.returncode == 0, run.stderr
            successor_pid = int(open(os.path.join(data, "LOCK")).read().strip())
            assert wait_exit(old.proc) == 0
            # The successor inherits the predecessor's standard output: its own admin line follows.
            line = old.proc.stdout.readline()
            while line and not line.startswith("admin listening on "):
                line = old.proc.stdout.readline()
            assert line.strip() == f"admin listening on {admin}", f"the successor's admin port differs: {line!r}"
            during = poller.count()
            wait_until(lambda: poller.count() >= during + 10, "probes after the restart")
        refused = [o for o in poller.outcomes if "ConnectionRefused" in str(o[1])]
        assert refused == [], f"admin connections were refused during the restart: {refused[:5]}"
        # Neither refused nor reset: a connection the predecessor accepted is answered (its
        # listeners stop accepting before they close, GRPCH2 ListenerClosing.swift), the rest
        # wait in the socket's queue for the successor.
        failures = [o for o in poller.outcomes if o[1] != 200]
        assert failures == [], f"admin requests failed during the restart: {failures[:5]}"
        assert before > 0 and poller.count() > during, "the probes ran before and after the hand-over"
        print(f"admin port through a restart: {poller.count()} probes and scrapes, all answered 200")
    finally:
        stop_successor(successor_pid)
        old.stop()
