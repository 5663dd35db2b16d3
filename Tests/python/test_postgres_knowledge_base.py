"""The knowledge base shared by kato-server replicas through a real PostgreSQL 15 (`--postgres`,
docs/SCALING.md): a pattern learned on one replica is in the next prediction on another, concurrent
learns of one pattern on several replicas are all counted, every replica applies changes in the
same order (identical predictions, bit for bit), a restarted replica loads the knowledge base, and
clearing it on one replica clears it everywhere (sessions across replicas: test_postgres_sessions.py)."""
import signal
import time
import urllib.request
import subprocess
import threading

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc
from kato_client._pb.kato.v2 import types_pb2

from conftest import start_kato_server
from pg_support import PASSWORD, PostgresServer


class Replica:
    def __init__(self, binaries, pg, *extra):
        self.server = start_kato_server(binaries, "--in-memory", "--postgres", pg.url(), *extra)
        self.channel = grpc.insecure_channel(self.server.address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)

    def session(self, node, **config):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(
            node_id=node, config=types_pb2.SessionConfig(**config))).session_id

    def learn(self, sid, events):
        for e in events:
            self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=e))
        return self.observe.Learn(observe_pb2.LearnRequest(session_id=sid)).pattern_name

    def predictions(self, sid, events):
        self.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
        for e in events:
            self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=e))
        return list(self.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions)

    def stop(self):
        self.channel.close()
        return self.server.stop()


@pytest.fixture
def replicas(binaries, pg):
    started = [Replica(binaries, pg) for _ in range(2)]
    yield started
    for r in started:
        r.stop()


def test_a_pattern_learned_on_one_replica_is_predicted_on_another(replicas, pg):
    a, b = replicas
    name = a.learn(a.session("shared-1"), [["hello"], ["world"], ["foo"]])
    assert name.startswith("PTRN|")
    preds = b.predictions(b.session("shared-1"), [["hello"], ["world"]])
    assert [p.name for p in preds] == [name[len("PTRN|"):]]
    assert [list(e.symbols) for e in preds[0].future] == [["foo"]]
    r = pg.psql("SELECT version FROM kb_nodes WHERE node_id = 'shared-1'")
    assert r.stdout.strip() == "1"
    assert PASSWORD not in a.server.stderr_text()


def test_concurrent_learns_of_one_pattern_on_two_replicas_are_all_counted(replicas):
    a, b = replicas
    per_replica = 15
    errors = []

    def hammer(replica):
        try:
            sid = replica.session("shared-2")
            for _ in range(per_replica):
                replica.learn(sid, [["x"], ["y"], ["z"]])
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(r,)) for r in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for replica in (a, b):
        preds = replica.predictions(replica.session("shared-2"), [["x"], ["y"]])
        assert [p.frequency for p in preds] == [2 * per_replica]


def test_replicas_agree_on_every_prediction_field_after_interleaved_learns(replicas):
    a, b = replicas
    sa, sb = a.session("shared-3"), b.session("shared-3")
    for i in range(12):
        replica, sid = (a, sa) if i % 2 == 0 else (b, sb)
        replica.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"s{i % 4}"], emotives={"joy": 0.1 * i}))
        replica.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"s{(i + 1) % 4}", "t"]))
        replica.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"s{(i + 2) % 5}"]))
        replica.observe.Learn(observe_pb2.LearnRequest(session_id=sid))
    query = [["s1"], ["s2", "t"]]
    pa, pb = a.predictions(sa, query), b.predictions(sb, query)
    assert len(pa) > 1
    assert [p.SerializeToString(deterministic=True) for p in pa] == [p.SerializeToString(deterministic=True) for p in pb]


def test_a_restarted_replica_loads_the_shared_knowledge_base(binaries, pg):
    a = Replica(binaries, pg)
    name = a.learn(a.session("shared-4"), [["p"], ["q"], ["r"]])
    a.server.proc.send_signal(signal.SIGKILL)
    a.server.proc.wait()
    b = Replica(binaries, pg)
    try:
        preds = b.predictions(b.session("shared-4"), [["p"], ["q"]])
        assert [p.name for p in preds] == [name[len("PTRN|"):]]
    finally:
        b.stop()


def test_clearing_the_knowledge_base_on_one_replica_clears_it_on_the_other(replicas):
    a, b = replicas
    a.learn(a.session("shared-5"), [["m"], ["n"], ["o"]])
    sb = b.session("shared-5")
    assert b.predictions(sb, [["m"], ["n"]])
    b.observe.ClearAllMemory(observe_pb2.ClearAllMemoryRequest(session_id=sb))
    sa = a.session("shared-5")
    assert a.predictions(sa, [["m"], ["n"]]) == []
    name = a.learn(sa, [["m"], ["n"], ["w"]])
    assert [p.name for p in b.predictions(sb, [["m"], ["n"]])] == [name[len("PTRN|"):]]


def test_an_unreachable_postgres_at_startup_is_one_clear_line_and_exit_2(binaries):
    r = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--postgres",
                        "postgres://kato:hidden-pw@127.0.0.1:1/kato?sslmode=disable&connect_timeout=2"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "cannot reach PostgreSQL at 127.0.0.1:1" in r.stderr and "hidden-pw" not in r.stderr


def test_wrong_credentials_at_startup_are_named(binaries, pg):
    r = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--postgres", pg.url(password="wrong-one")],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "refused the credentials of user 'kato'" in r.stderr and "wrong-one" not in r.stderr


def test_get_pattern_on_another_replica_sees_the_learn_at_once(replicas):
    a, b = replicas
    sid_b = b.session("shared-6")
    for i in range(5):
        name = a.learn(a.session("shared-6"), [[f"g{i}"], ["h"]])
        got = b.predict.GetPattern(predict_pb2.GetPatternRequest(session_id=sid_b, name=name))
        assert got.name == name and got.frequency == 1


def test_postgres_down_fails_calls_fast_with_unavailable_and_the_replica_recovers(binaries):
    pg = PostgresServer()  # its own: this test stops it
    a = Replica(binaries, pg)
    try:
        sid = a.session("outage")
        name = a.learn(sid, [["u"], ["v"]])
        pg.stop()
        for call in (lambda: a.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["u"]), timeout=30),
                     lambda: a.observe.Learn(observe_pb2.LearnRequest(session_id=sid), timeout=30)):
            started = time.time()
            with pytest.raises(grpc.RpcError) as failed:
                call()
            assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value
            assert "PostgreSQL did not answer" in failed.value.details() or "cannot reach PostgreSQL" in failed.value.details()
            assert time.time() - started < 10
        pg.start()
        deadline = time.time() + 60
        while True:
            try:
                preds = a.predictions(sid, [["u"]])
                break
            except grpc.RpcError:
                assert time.time() < deadline, "the replica did not recover after PostgreSQL came back"
                time.sleep(0.5)
        a.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["v"]))
        assert [p.name for p in a.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions] == \
            [name[len("PTRN|"):]]
        assert a.learn(sid, [["u"], ["w"]]).startswith("PTRN|")
    finally:
        a.stop()
        pg.destroy()


def test_replication_metrics_show_the_pool_the_feed_and_the_applied_version(binaries, pg):
    a, b = Replica(binaries, pg, "--postgres-pool-size", "4"), Replica(binaries, pg)
    try:
        a.learn(a.session("metrics-node"), [["m1"], ["m2"]])
        b.predictions(b.session("metrics-node"), [["m1"]])  # B catches up (read-your-writes)
        with urllib.request.urlopen(f"http://{b.server.admin()}/metrics", timeout=5) as r:
            page_b = r.read().decode()
        with urllib.request.urlopen(f"http://{a.server.admin()}/metrics", timeout=5) as r:
            page_a = r.read().decode()
        assert 'kato_kb_applied_version{node_id="metrics-node"} 1.0' in page_b
        assert 'kato_kb_applied_version{node_id="metrics-node"} 1.0' in page_a
        applied = [float(line.split()[1]) for line in page_b.splitlines() if line.startswith("kato_kb_changes_applied_total")]
        assert applied and applied[0] >= 1
        assert "kato_kb_replication_lag_seconds_count" in page_b
        assert "kato_postgres_pool_size 4.0" in page_a and "kato_postgres_pool_size 10.0" in page_b
        # Leased now: the replica's own 1 s version poll may hold one at the moment of the scrape.
        in_use = [float(line.split()[1]) for line in page_a.splitlines() if line.startswith("kato_postgres_pool_in_use ")]
        assert in_use and 0 <= in_use[0] <= 4, in_use
        assert "kato_postgres_pool_wait_seconds_count" in page_a
    finally:
        a.stop()
        b.stop()


def run_tool(binaries, *args, input_bytes=None):
    return subprocess.run([str(binaries / "kato-server"), *args], input=input_bytes, capture_output=True, timeout=120)


def test_an_embedded_knowledge_base_moves_into_postgres_and_predicts_the_same(binaries, pg, tmp_path):
    data_dir = tmp_path / "embedded"
    embedded = start_kato_server(binaries, "--data-dir", str(data_dir))
    ch = grpc.insecure_channel(embedded.address)
    obs = observe_pb2_grpc.ObserveServiceStub(ch)
    sid = session_pb2_grpc.SessionServiceStub(ch).CreateSession(session_pb2.CreateSessionRequest(node_id="moved")).session_id
    for i in range(8):
        obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"k{i % 3}"], emotives={"calm": 0.25 * i}))
        obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[f"l{i % 4}", "z"]))
        obs.Learn(observe_pb2.LearnRequest(session_id=sid))
    query = [["k1"], ["l1", "z"]]
    obs.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
    for e in query:
        obs.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=e))
    expected = list(predict_pb2_grpc.PredictServiceStub(ch).GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions)
    ch.close()
    embedded.stop()

    export = run_tool(binaries, "export", "--data-dir", str(data_dir))
    assert export.returncode == 0, export.stderr
    running = Replica(binaries, pg)  # a replica already serving sees the import too
    try:
        imported = run_tool(binaries, "import", "--postgres", pg.url(), input_bytes=export.stdout)
        assert imported.returncode == 0, imported.stderr
        assert b"imported 8 patterns" in imported.stderr
        again = run_tool(binaries, "import", "--postgres", pg.url(), input_bytes=export.stdout)
        assert again.returncode == 2 and b"node 'moved' already exists" in again.stderr
        verified = run_tool(binaries, "verify", "--postgres", pg.url())
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert b"OK: " in verified.stdout
        fresh = Replica(binaries, pg)
        try:
            for replica in (fresh, running):
                got = replica.predictions(replica.session("moved"), query)
                assert [p.SerializeToString(deterministic=True) for p in got] == \
                    [p.SerializeToString(deterministic=True) for p in expected]
        finally:
            fresh.stop()
        replaced = run_tool(binaries, "import", "--postgres", pg.url(), "--replace", input_bytes=export.stdout)
        assert replaced.returncode == 0, replaced.stderr
        assert len(running.predictions(running.session("moved"), query)) == len(expected)
    finally:
        running.stop()


def test_verify_finds_a_gap_in_the_change_log(binaries, pg):
    a = Replica(binaries, pg)
    try:
        sid = a.session("gappy")
        for i in range(3):
            a.learn(sid, [[f"a{i}"], ["b"]])
    finally:
        a.stop()
    assert pg.psql("DELETE FROM kb_changes WHERE node_id = 'gappy' AND version = 2").returncode == 0
    try:
        r = run_tool(binaries, "verify", "--postgres", pg.url())
        assert r.returncode == 1
        assert b"node 'gappy': version 3, but its change log holds 2 change(s)" in r.stdout
    finally:
        pg.psql("DELETE FROM kb_nodes WHERE node_id = 'gappy'")  # the other tests verify this database
