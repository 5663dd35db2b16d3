"""Deleting with a knowledge base shared through PostgreSQL (--postgres): three replicas behind
HAProxy (cluster_support). A pattern deleted through one replica is gone on every replica — they
predict exactly as a node that never learned it — because the deletion is a change of the node's
versioned change feed, applied by every replica in version order; a restarted replica loads the
tombstone from PostgreSQL; `kato-server verify --postgres` is clean. DeleteKnowledgeBase empties
the node on every replica the same way."""
import subprocess

import grpc
import pytest

from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc

from cluster_support import Cluster
from test_knowledge_base_deletion import DELETED, LEARNS, Client, same_as_never_learned


@pytest.fixture(scope="module")
def cluster(binaries):
    c = Cluster(binaries)
    yield c
    c.destroy()


def clients(cluster):
    """A client per replica (A, B, C) and one through HAProxy (calls spread round-robin)."""
    return [Client(r.address, metadata=()) for r in cluster.replicas] + [Client(cluster.address, metadata=())]


def restart(cluster, i):
    """Restarts replica `i` (cluster_support), sending calls through HAProxy meanwhile so that
    it sees the replica back in rotation."""
    def poke():
        with grpc.insecure_channel(cluster.address) as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            stub.CountSessions(session_pb2.CountSessionsRequest(node_id="poke"), timeout=5)
        return False
    cluster.restart(i, abort=poke)


def verify(binaries, cluster):
    r = subprocess.run([str(binaries / "kato-server"), "verify", "--postgres", cluster.pg.url()],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_pattern_deleted_on_one_replica_is_gone_on_every_replica_and_after_a_restart(binaries, cluster):
    a, b, c, lb = clients(cluster)
    names = a.learn_all("del-n")
    b.learn_all("del-control", skip=DELETED)
    assert c.predictions("del-n") != c.predictions("del-control")  # the pattern matters to these probes
    reply = a.delete("del-n", names[DELETED])
    assert (reply.name, reply.pattern_count) == (names[DELETED], 2)
    # Read-your-writes on the other replicas: the deletion is applied before they answer.
    same_as_never_learned(b, "del-n", "del-control")
    same_as_never_learned(c, "del-n", "del-control")
    same_as_never_learned(lb, "del-n", "del-control")
    assert b.names("del-n") == c.names("del-n") == [names[0], names[2]]
    with pytest.raises(grpc.RpcError) as e:
        c.delete("del-n", names[DELETED])  # already deleted, seen from another replica
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    # Re-learned on a third replica: a new pattern (new id), as on a node that learns it now.
    assert c.learn(c.session("del-n"), *LEARNS[DELETED]) == names[DELETED]
    c.learn(c.session("del-control"), *LEARNS[DELETED])
    assert a.names("del-n") == [names[0], names[2], names[DELETED]]
    same_as_never_learned(a, "del-n", "del-control")
    b.delete("del-n", names[0])
    for x in (a, b, c, lb):
        x.close()

    # A restarted replica loads the tombstones from PostgreSQL.
    restart(cluster, 1)
    a, b, c, lb = clients(cluster)
    assert b.names("del-n") == [names[2], names[DELETED]]
    control2 = a.session("del-control2")
    for i in (2, DELETED):
        a.learn(control2, *LEARNS[i])
    same_as_never_learned(b, "del-n", "del-control2")
    same_as_never_learned(lb, "del-n", "del-control2")
    for x in (a, b, c, lb):
        x.close()
    verify(binaries, cluster)


def test_deleting_a_whole_knowledge_base_on_one_replica_empties_it_on_every_replica(binaries, cluster):
    a, b, c, lb = clients(cluster)
    a.learn_all("delall-n")
    a.learn_all("delall-kept")
    kept = c.statistics("delall-kept")
    reply = b.delete_all("delall-n")
    assert (reply.patterns_deleted, reply.symbols_deleted) == (3, 6)
    b.session("delall-never")
    for x in (a, c, lb):
        stats = x.statistics("delall-n")
        assert (stats.pattern_count, stats.symbol_count, stats.total_frequency) == (0, 0, 0)
        assert x.names("delall-n") == []
        same_as_never_learned(x, "delall-n", "delall-never")
        assert x.statistics("delall-kept") == kept
    for x in (a, b, c, lb):
        x.close()
    restart(cluster, 2)
    c = Client(cluster.replicas[2].address, metadata=())
    assert c.statistics("delall-n").pattern_count == 0
    assert c.statistics("delall-kept") == kept
    c.close()
    verify(binaries, cluster)
