"""KnowledgeBaseService.DeletePattern against a real kato-server over grpcio: afterwards the node
predicts exactly as a node that never learned the pattern (every prediction field, the statistics),
the deletion survives a restart (graceful and kill -9) and a later re-learn, `verify` stays clean,
an unknown pattern is NOT_FOUND, deleting needs the admin role. DeleteKnowledgeBase: the node's
statistics drop to zero and it predicts as a node that never learned anything, its sessions keep
their STM, durable across a restart, admin only. With --postgres (replicas): see
test_cluster_knowledge_base_deletion.py."""
import json
import signal
import subprocess

import grpc
import pytest

from kato_client._pb.kato.v2 import knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc
from kato_client._pb.kato.v2 import predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import start_kato_server

KEYS = [{"principal": "admin", "key": "del-admin", "roles": ["admin"], "nodes": ["*"]},
        {"principal": "reader", "key": "del-reader", "roles": ["reader"], "nodes": ["*"]},
        {"principal": "writer", "key": "del-writer", "roles": ["writer"], "nodes": ["*"]}]
ADMIN = (("authorization", "Bearer del-admin"),)
# Three patterns sharing symbols, with emotives and metadata; the middle one gets deleted.
LEARNS = [
    ([["a", "b"], ["c"]], {"joy": 0.5}, {"src": "one"}),
    ([["a"], ["d", "q"], ["e"]], {"joy": 0.25, "fear": 1.0}, {"src": "two"}),
    ([["b"], ["c"], ["e"]], {"fear": 0.75}, {"src": "three"}),
]
DELETED = 1
PROBES = [[["a"], ["c"]], [["a"], ["d"]], [["b"], ["e"]], [["q"], ["e"]]]


class Client:
    def __init__(self, address, metadata=ADMIN):
        self.channel = grpc.insecure_channel(address)
        self.md = metadata
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)
        self.kb = knowledge_pb2_grpc.KnowledgeBaseServiceStub(self.channel)

    def session(self, node):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node), metadata=self.md).session_id

    def learn(self, sid, events, emotives, metadata):
        for i, e in enumerate(events):
            obs = observe_pb2.ObserveRequest(session_id=sid, strings=e)
            if i == 0:
                for k, v in emotives.items():
                    obs.emotives[k] = v
                for k, v in metadata.items():
                    obs.metadata[k].string_value = v
            self.observe.Observe(obs, metadata=self.md)
        return self.observe.Learn(observe_pb2.LearnRequest(session_id=sid), metadata=self.md).pattern_name

    def learn_all(self, node, skip=None):
        sid = self.session(node)
        return [self.learn(sid, *l) if i != skip else None for i, l in enumerate(LEARNS)]

    def predictions(self, node):
        """Every probe's predictions, with the names and nothing else node-specific."""
        sid = self.session(node)
        out = []
        for probe in PROBES:
            self.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid), metadata=self.md)
            for e in probe:
                self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=e), metadata=self.md)
            got = self.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid), metadata=self.md)
            out.append([p.SerializeToString(deterministic=True) for p in got.predictions])
        return out

    def statistics(self, node):
        s = self.kb.GetKnowledgeBaseStatistics(knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=node), metadata=self.md)
        s.node_id = ""
        return s

    def names(self, node):
        page = self.kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=node, order=knowledge_pb2.PATTERN_ORDER_LEARNED),
                                    metadata=self.md)
        return [p.name for p in page.patterns]

    def delete(self, node, name):
        return self.kb.DeletePattern(knowledge_pb2.DeletePatternRequest(node_id=node, name=name), metadata=self.md)

    def delete_all(self, node):
        return self.kb.DeleteKnowledgeBase(knowledge_pb2.DeleteKnowledgeBaseRequest(node_id=node), metadata=self.md)

    def stm(self, sid):
        got = self.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid), metadata=self.md)
        return [list(e.symbols) for e in got.events]

    def close(self):
        self.channel.close()


def same_as_never_learned(client, node, control):
    assert client.predictions(node) == client.predictions(control)
    assert client.statistics(node) == client.statistics(control)


@pytest.fixture
def keyfile(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(KEYS))
    return str(path)


def test_a_deleted_pattern_predicts_as_if_never_learned_and_stays_deleted_across_restarts(binaries, tmp_path, keyfile):
    data = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data, "--auth-keys", keyfile)
    c = Client(server.address)
    names = c.learn_all("n")
    c.learn_all("control", skip=DELETED)
    assert c.predictions("n") != c.predictions("control")  # the pattern matters to these probes
    reply = c.delete("n", names[DELETED])
    assert (reply.node_id, reply.name, reply.pattern_count) == ("n", names[DELETED], 2)
    same_as_never_learned(c, "n", "control")
    with pytest.raises(grpc.RpcError) as e:
        c.predict.GetPattern(predict_pb2.GetPatternRequest(node_id="n", name=names[DELETED]), metadata=ADMIN)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    # A second deletion of the same pattern: NOT_FOUND, nothing changed.
    with pytest.raises(grpc.RpcError) as e:
        c.delete("n", names[DELETED])
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    c.close()
    server.stop()

    server = start_kato_server(binaries, "--data-dir", data, "--auth-keys", keyfile)
    c = Client(server.address)
    assert c.names("n") == [names[0], names[2]]
    same_as_never_learned(c, "n", "control")
    # Re-learned after the restart it is a new pattern again, as on a node that learns it now.
    sid = c.session("n")
    assert c.learn(sid, *LEARNS[DELETED]) == names[DELETED]
    c.learn(c.session("control"), *LEARNS[DELETED])
    assert c.names("n") == [names[0], names[2], names[DELETED]]
    same_as_never_learned(c, "n", "control")
    # Deleted again, then the process is killed: the acknowledged deletion is on disk.
    c.delete("n", names[0])
    c.close()
    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait()

    server = start_kato_server(binaries, "--data-dir", data, "--auth-keys", keyfile)
    c = Client(server.address)
    assert c.names("n") == [names[2], names[DELETED]]
    control2 = c.session("control2")
    for i in (2, DELETED):
        c.learn(control2, *LEARNS[i])
    same_as_never_learned(c, "n", "control2")
    c.close()
    server.stop()
    verify = subprocess.run([str(binaries / "kato-server"), "verify", "--data-dir", data],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_deleting_the_newest_pattern_in_the_same_batch_as_its_learn_survives_a_restart(binaries, tmp_path):
    data = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data)
    c = Client(server.address, metadata=())
    names = c.learn_all("n")
    c.delete("n", names[2])
    c.delete("n", names[0])
    c.close()
    server.stop()
    server = start_kato_server(binaries, "--data-dir", data)
    c = Client(server.address, metadata=())
    assert c.names("n") == [names[1]]
    assert c.statistics("n").pattern_count == 1
    assert c.learn(c.session("n"), *LEARNS[2]) == names[2]
    assert c.names("n") == [names[1], names[2]]
    c.close()
    server.stop()


def test_unknown_pattern_is_not_found_and_bad_requests_are_invalid_argument(binaries):
    server = start_kato_server(binaries, "--in-memory")
    c = Client(server.address, metadata=())
    c.learn_all("n")
    with pytest.raises(grpc.RpcError) as e:
        c.delete("n", "PTRN|0123456789abcdef0123456789abcdef01234567")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "not found" in e.value.details()
    for node, name in (("", "PTRN|x"), ("n", "")):
        with pytest.raises(grpc.RpcError) as e:
            c.delete(node, name)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert c.statistics("n").pattern_count == 3
    c.close()
    server.stop()


def test_deleting_needs_the_admin_role(binaries, keyfile):
    server = start_kato_server(binaries, "--in-memory", "--auth-keys", keyfile)
    admin = Client(server.address)
    names = admin.learn_all("n")
    for md, code in (((), grpc.StatusCode.UNAUTHENTICATED),
                     ((("authorization", "Bearer del-reader"),), grpc.StatusCode.PERMISSION_DENIED),
                     ((("authorization", "Bearer del-writer"),), grpc.StatusCode.PERMISSION_DENIED)):
        other = Client(server.address, metadata=md)
        with pytest.raises(grpc.RpcError) as e:
            other.delete("n", names[0])
        assert e.value.code() == code
        other.close()
    assert admin.statistics("n").pattern_count == 3
    admin.delete("n", names[0])
    assert admin.statistics("n").pattern_count == 2
    admin.close()
    server.stop()


def test_deleting_the_whole_knowledge_base_empties_its_statistics_keeps_sessions_and_survives_a_restart(binaries, tmp_path, keyfile):
    data = str(tmp_path / "data")
    server = start_kato_server(binaries, "--data-dir", data, "--auth-keys", keyfile)
    c = Client(server.address)
    names = c.learn_all("n")
    c.learn_all("kept")
    kept_stats = c.statistics("kept")
    sid = c.session("n")
    c.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["a"]), metadata=ADMIN)
    c.session("never")  # a node that never learned anything: what "n" must predict like
    reply = c.delete_all("n")
    assert (reply.node_id, reply.patterns_deleted, reply.symbols_deleted) == ("n", 3, 6)
    stats = c.statistics("n")
    assert (stats.pattern_count, stats.symbol_count, stats.total_frequency) == (0, 0, 0)
    assert list(stats.length_distribution) == [] and list(stats.top_symbols) == []
    assert c.names("n") == []
    assert c.stm(sid) == [["a"]], "the node's sessions keep their short-term memory"
    same_as_never_learned(c, "n", "never")
    assert c.statistics("kept") == kept_stats, "other nodes are untouched"
    assert c.delete_all("n").patterns_deleted == 0  # again: nothing left, not an error
    c.close()
    server.proc.send_signal(signal.SIGKILL)  # acknowledged: on disk
    server.proc.wait()

    server = start_kato_server(binaries, "--data-dir", data, "--auth-keys", keyfile)
    c = Client(server.address)
    assert c.names("n") == [] and c.statistics("n").pattern_count == 0
    assert c.statistics("kept") == kept_stats
    assert c.learn(c.session("n"), *LEARNS[0]) == names[0]  # the node id stays usable
    assert c.names("n") == [names[0]]
    c.close()
    server.stop()
    verify = subprocess.run([str(binaries / "kato-server"), "verify", "--data-dir", data],
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_deleting_the_whole_knowledge_base_needs_the_admin_role_and_a_node(binaries, keyfile):
    server = start_kato_server(binaries, "--in-memory", "--auth-keys", keyfile)
    admin = Client(server.address)
    admin.learn_all("n")
    for md, code in (((), grpc.StatusCode.UNAUTHENTICATED),
                     ((("authorization", "Bearer del-reader"),), grpc.StatusCode.PERMISSION_DENIED),
                     ((("authorization", "Bearer del-writer"),), grpc.StatusCode.PERMISSION_DENIED)):
        other = Client(server.address, metadata=md)
        with pytest.raises(grpc.RpcError) as e:
            other.delete_all("n")
        assert e.value.code() == code
        other.close()
    with pytest.raises(grpc.RpcError) as e:
        admin.delete_all("")
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert admin.statistics("n").pattern_count == 3
    admin.close()
    server.stop()
