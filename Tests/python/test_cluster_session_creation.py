"""Session creation through HAProxy and three replicas on one PostgreSQL (docs/SCALING.md): many
creations in flight at once all succeed (the `--max-sessions` check is one locked counter row,
schema v4, not a count under a cluster-wide lock), the limit stays exact when the replicas race
for its last places, and deletions and expiry give the places back exactly once."""
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc

from cluster_support import Cluster

LIMIT = 150


@pytest.fixture(scope="module")
def cluster(binaries):
    c = Cluster(binaries, extra=("--max-sessions", str(LIMIT), "--session-cleanup-seconds", "1"))
    yield c
    c.destroy()


@pytest.fixture(scope="module")
def sessions(cluster):
    channel = grpc.insecure_channel(cluster.address)
    yield session_pb2_grpc.SessionServiceStub(channel)
    channel.close()


def counts(cluster):
    """(the counter row, the rows it counts) — they must agree."""
    row = cluster.pg.psql("SELECT live FROM kato_session_count").stdout.strip()
    rows = cluster.pg.psql("SELECT count(*) FROM kato_sessions WHERE NOT is_default").stdout.strip()
    return int(row), int(rows)


def create_at_once(sessions, n, ttl=0):
    """`n` CreateSession calls in flight together; their session ids or status codes."""
    futures = [sessions.CreateSession.future(session_pb2.CreateSessionRequest(node_id="creation-node", ttl_seconds=ttl))
               for _ in range(n)]
    outcomes = []
    for f in futures:
        try:
            outcomes.append(f.result(timeout=60).session_id)
        except grpc.RpcError as e:
            outcomes.append(e.code())
    return outcomes


def test_128_creations_in_flight_through_haproxy_and_three_replicas_all_succeed(cluster, sessions):
    live, _ = counts(cluster)
    assert live + 128 <= LIMIT
    outcomes = create_at_once(sessions, 128)
    assert all(isinstance(o, str) and o for o in outcomes), [o for o in outcomes if not isinstance(o, str)]
    assert len(set(outcomes)) == 128
    assert counts(cluster) == (live + 128, live + 128)


def test_replicas_racing_for_the_last_places_create_exactly_the_limit(cluster, sessions):
    live, rows = counts(cluster)
    assert live == rows and live < LIMIT
    outcomes = create_at_once(sessions, LIMIT - live + 40)
    created = [o for o in outcomes if isinstance(o, str)]
    assert len(created) == LIMIT - live
    assert set(o for o in outcomes if not isinstance(o, str)) == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert counts(cluster) == (LIMIT, LIMIT)


def test_deletions_and_expiry_give_places_back_exactly_once(cluster, sessions):
    ids = cluster.pg.psql("SELECT id FROM kato_sessions WHERE NOT is_default ORDER BY id LIMIT 30").stdout.split()
    assert len(ids) == 30
    for sid in ids:  # through the load balancer: spread over the replicas
        sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid))
    with pytest.raises(grpc.RpcError):  # deleted once: a second delete changes nothing
        sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=ids[0]))
    assert counts(cluster) == (LIMIT - 30, LIMIT - 30)
    # 30 places again: fill them with sessions that expire after 10 s (3 s could pass while a loaded
    # machine was still creating them, and the cleanup then freed places before the count below).
    outcomes = create_at_once(sessions, 40, ttl=10)
    assert sum(isinstance(o, str) for o in outcomes) == 30
    assert counts(cluster) == (LIMIT, LIMIT)
    deadline = time.time() + 60  # the once-per-cluster cleanup removes them
    while counts(cluster) != (LIMIT - 30, LIMIT - 30):
        assert time.time() < deadline, counts(cluster)
        time.sleep(0.2)
    outcomes = create_at_once(sessions, 40)
    assert sum(isinstance(o, str) for o in outcomes) == 30
    assert counts(cluster) == (LIMIT, LIMIT)


def test_after_a_postgresql_crash_empties_the_unlogged_tables_creation_recounts_and_works(cluster, sessions):
    """Last here: the crash takes every session. Crash recovery empties UNLOGGED tables, the count
    row with the sessions; the first refused creation recounts it (0) and the limit holds again."""
    cluster.pg.stop("immediate")
    cluster.pg.start()
    assert cluster.pg.psql("SELECT count(*) FROM kato_session_count").stdout.strip() == "0"
    deadline = time.time() + 60  # the replicas' pools and circuit breakers recover by themselves
    while True:
        try:
            sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="creation-node"))
            break
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE and time.time() < deadline, e
            time.sleep(0.5)
    assert counts(cluster) == (1, 1)
    outcomes = create_at_once(sessions, LIMIT + 20)
    assert sum(isinstance(o, str) for o in outcomes) == LIMIT - 1
    assert counts(cluster) == (LIMIT, LIMIT)
