"""Sessions shared by kato-server replicas through a real PostgreSQL 15 (`--postgres`,
docs/SCALING.md): a session created on one replica is observed on a second and predicts on a
third; concurrent calls on one session through different replicas are serialised (no event lost);
a session outlives the replica that last touched it (kill -9); TTL slides on every replica and
expiry, deletion and the default session of a node are the same everywhere."""
import signal
import threading
import time

import grpc
import pytest
from google.protobuf import wrappers_pb2

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc
from kato_client._pb.kato.v2 import types_pb2

from conftest import start_kato_server
from pg_support import PostgresServer


def session_config(**values):
    wrapped = {k: wrappers_pb2.DoubleValue(value=v) if isinstance(v, float) else wrappers_pb2.Int64Value(value=v)
               for k, v in values.items()}
    return types_pb2.SessionConfig(**wrapped)


class Replica:
    def __init__(self, binaries, pg, *extra):
        self.connect(start_kato_server(binaries, "--in-memory", "--postgres", pg.url(), *extra) if pg else
                     start_kato_server(binaries, "--in-memory", *extra))

    def connect(self, server):
        self.server = server
        self.channel = grpc.insecure_channel(self.server.address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)

    def create(self, node, ttl=0, **config):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(
            node_id=node, ttl_seconds=ttl, config=session_config(**config)))

    def see(self, sid, *symbols, node=""):
        return self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, node_id=node, strings=list(symbols)))

    def stm(self, sid, node=""):
        reply = self.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid, node_id=node))
        return [list(e.symbols) for e in reply.events]

    def stop(self):
        self.channel.close()
        return self.server.stop()


@pytest.fixture(scope="module")
def three(binaries, pg):
    started = [Replica(binaries, pg, "--session-cleanup-seconds", "1") for _ in range(3)]
    yield started
    for r in started:
        r.stop()


def code_and_reason(error):
    return error.code(), dict(error.trailing_metadata() or ()).get("kato-error-reason", error.details())


def test_a_session_created_on_one_replica_is_observed_on_a_second_and_predicts_on_a_third(three, pg):
    a, b, c = three
    teacher = a.create("sessions-1").session_id
    for s in ("hello", "world", "again"):
        a.see(teacher, s)
    name = a.observe.Learn(observe_pb2.LearnRequest(session_id=teacher)).pattern_name

    created = a.create("sessions-1", ttl=120, recall_threshold=0.2, max_pattern_length=0)
    sid = created.session_id
    b.see(sid, "hello")
    b.see(sid, "world")
    assert c.stm(sid) == [["hello"], ["world"]]
    predictions = c.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions
    assert [p.name for p in predictions] == [name[len("PTRN|"):]]
    seen = c.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid))
    assert seen.node_id == "sessions-1" and seen.ttl_seconds == 120 and seen.stm_length == 2
    assert seen.config.recall_threshold.value == pytest.approx(0.2) and seen.created_at == created.created_at
    # One row per session, in the UNLOGGED table.
    assert pg.psql(f"SELECT node_id FROM kato_sessions WHERE id = '{sid}'").stdout.strip() == "sessions-1"


def test_two_clients_hammering_one_session_through_different_replicas_lose_no_event(three):
    a, b, c = three
    sid = a.create("sessions-2", max_pattern_length=0).session_id
    per_client = 60
    acknowledged = {"a": [], "b": []}
    errors = []

    def hammer(replica, tag):
        try:
            for i in range(per_client):
                replica.see(sid, f"{tag}{i:03d}")
                acknowledged[tag].append(f"{tag}{i:03d}")
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    threads = [threading.Thread(target=hammer, args=(r, t)) for r, t in ((a, "a"), (b, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    stm = [e[0] for e in c.stm(sid)]
    assert sorted(stm) == sorted(acknowledged["a"] + acknowledged["b"])
    # Each client's events in the order it was acknowledged.
    assert [s for s in stm if s.startswith("a")] == acknowledged["a"]
    assert [s for s in stm if s.startswith("b")] == acknowledged["b"]


def test_a_session_survives_kill_9_of_the_replica_that_last_touched_it(binaries, pg, three):
    _, b, _ = three
    doomed = Replica(binaries, pg)
    sid = doomed.create("sessions-3", max_pattern_length=0).session_id
    for s in ("p", "q", "r"):
        doomed.see(sid, s)
    doomed.server.proc.send_signal(signal.SIGKILL)
    doomed.server.proc.wait()
    doomed.channel.close()
    assert b.stm(sid) == [["p"], ["q"], ["r"]]
    b.see(sid, "s")
    assert b.stm(sid) == [["p"], ["q"], ["r"], ["s"]]


def test_the_ttl_slides_on_every_replica_and_expiry_is_the_same_everywhere(three, pg):
    a, b, c = three
    # TTL 6 s, a call every 2.5 s (7.5 s in all, past the first expiry): a loaded machine has 3.5 s
    # of margin per step (with a 3 s TTL and 1.5 s steps it had 1.5 s, and the session expired).
    sid = a.create("sessions-4", ttl=6).session_id
    for replica in (b, c, b):
        time.sleep(2.5)
        replica.see(sid, "tick")  # each call slides the expiry to now + 6 s
    assert len(a.stm(sid)) == 3
    time.sleep(7)
    for replica in (a, b, c):
        with pytest.raises(grpc.RpcError) as e:
            replica.stm(sid)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND and "expired" in e.value.details()
    # One cleanup (whichever replica held the advisory lock) removed the row and remembers the id.
    deadline = time.time() + 30
    while pg.psql(f"SELECT count(*) FROM kato_sessions WHERE id = '{sid}'").stdout.strip() != "0":
        assert time.time() < deadline, "the expired session was never cleaned up"
        time.sleep(0.2)
    assert pg.psql(f"SELECT count(*) FROM kato_sessions_expired WHERE id = '{sid}'").stdout.strip() == "1"


def test_deleting_a_session_on_one_replica_deletes_it_everywhere(three):
    a, b, c = three
    sid = a.create("sessions-5").session_id
    before = c.sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="sessions-5")).count
    assert before == 1
    b.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid))
    with pytest.raises(grpc.RpcError) as e:
        c.see(sid, "x")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert a.sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="sessions-5")).count == 0


def test_a_nodes_default_session_is_shared_by_the_replicas(three):
    a, b, c = three
    a.see("", "d1", node="sessions-6")
    b.see("", "d2", node="sessions-6")
    assert c.stm("", node="sessions-6") == [["d1"], ["d2"]]


def test_config_updates_and_extensions_made_on_one_replica_hold_on_the_others(three):
    a, b, c = three
    sid = a.create("sessions-7", ttl=60).session_id
    b.sessions.UpdateSessionConfig(session_pb2.UpdateSessionConfigRequest(
        session_id=sid, config=session_config(max_predictions=7)))
    c.sessions.ExtendSession(session_pb2.ExtendSessionRequest(session_id=sid, ttl_seconds=600))
    seen = a.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid))
    assert seen.config.max_predictions.value == 7 and seen.ttl_seconds == 600


def test_concurrent_creations_through_three_replicas_never_pass_max_sessions(binaries):
    pg = PostgresServer()  # its own: the limit counts every session in the database
    replicas = [Replica(binaries, pg, "--max-sessions", "20", "--admin-port", "0") for _ in range(3)]
    try:
        outcomes = []

        def create(replica):
            for _ in range(15):
                try:
                    replica.create("limit-node")
                    outcomes.append("created")
                except grpc.RpcError as e:
                    outcomes.append(e.code())

        threads = [threading.Thread(target=create, args=(r,)) for r in replicas for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert outcomes.count("created") == 20, outcomes
        assert set(outcomes) == {"created", grpc.StatusCode.RESOURCE_EXHAUSTED}
        assert pg.psql("SELECT count(*) FROM kato_sessions WHERE NOT is_default").stdout.strip() == "20"
        assert pg.psql("SELECT live FROM kato_session_count").stdout.strip() == "20"
        # Every replica reports the sessions in PostgreSQL, not only those it created.
        from cluster_support import metric
        deadline = time.time() + 30
        while not all(metric(r.server.admin(), "kato_sessions_active") == 20 for r in replicas):
            assert time.time() < deadline, [metric(r.server.admin(), "kato_sessions_active") for r in replicas]
            time.sleep(0.2)
    finally:
        for r in replicas:
            r.stop()
        pg.destroy()
