"""A replica joining a knowledge base already in PostgreSQL (`--postgres`, docs/SCALING.md "A
replica joining"): what it loads is exactly what PostgreSQL holds — every pattern's frequency,
emotive window and metadata, the deleted patterns' places, the symbols' emotive sums (they show in
predictions) and the node's version — compared against the replica that wrote it all (its memory
was built by the learns themselves, not by a load). The joining replica reads in chunks of 7 ids
(KATO_POSTGRES_LOAD_CHUNK_ROWS), so 60 patterns span nine chunks, one of them all deleted; once on
one connection (a pool of one), once on two (the default)."""
import subprocess
import urllib.request

import grpc

from kato_client._pb.kato.v2 import knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc
from kato_client._pb.kato.v2 import predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc, types_pb2

from conftest import start_kato_server

NODE = "joined"
CHUNK = 7
PATTERNS = 60
# Deleted: the first pattern, a whole chunk (ids 14–20), one inside a chunk, the last two.
DELETED = [0, *range(14, 21), 33, PATTERNS - 2, PATTERNS - 1]


class Replica:
    def __init__(self, binaries, pg, env=None):
        self.server = start_kato_server(binaries, "--in-memory", "--postgres", pg.url(), env=env)
        self.channel = grpc.insecure_channel(self.server.address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)
        self.kb = knowledge_pb2_grpc.KnowledgeBaseServiceStub(self.channel)

    def session(self, persistence=5):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(
            node_id=NODE, config=types_pb2.SessionConfig(persistence={"value": persistence}))).session_id

    def learn(self, sid, events, emotives, metadata):
        for i, e in enumerate(events):
            obs = observe_pb2.ObserveRequest(session_id=sid, strings=e)
            if i == 0:
                for k, v in emotives.items():
                    obs.emotives[k] = v
                for k, v in metadata.items():
                    obs.metadata[k].string_value = v
            self.observe.Observe(obs)
        return self.observe.Learn(observe_pb2.LearnRequest(session_id=sid)).pattern_name

    def patterns(self):
        """Every pattern in learn order, every field, serialized."""
        out, token = [], ""
        while True:
            page = self.kb.ListPatterns(knowledge_pb2.ListPatternsRequest(
                node_id=NODE, order=knowledge_pb2.PATTERN_ORDER_LEARNED, page_size=1000, page_token=token))
            out += [p.SerializeToString(deterministic=True) for p in page.patterns]
            token = page.next_page_token
            if not token:
                return out

    def statistics(self):
        return self.kb.GetKnowledgeBaseStatistics(
            knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=NODE)).SerializeToString(deterministic=True)

    def predictions(self, probes):
        sid = self.session()
        out = []
        for probe in probes:
            self.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
            for e in probe:
                self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=e))
            got = self.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
            out.append([p.SerializeToString(deterministic=True) for p in got.predictions])
        return out

    def applied_version(self):
        with urllib.request.urlopen(f"http://{self.server.admin()}/metrics", timeout=5) as r:
            page = r.read().decode()
        prefix = f'kato_kb_applied_version{{node_id="{NODE}"}} '
        return [float(line[len(prefix):]) for line in page.splitlines() if line.startswith(prefix)]

    def stop(self):
        self.channel.close()
        return self.server.stop()


def events_of(i):
    # Shared symbols (so symbol statistics and emotive sums overlap), lengths 2–5.
    return [[f"a{i % 5}", f"b{i % 3}"], [f"c{i % 7}"]] + [[f"d{i}"]] * (i % 4)


def test_a_joining_replica_loads_exactly_what_postgres_holds(binaries, pg):
    writer = Replica(binaries, pg)
    joined = None
    try:
        sid = writer.session()
        names = []
        for i in range(PATTERNS):
            names.append(writer.learn(sid, events_of(i), {"joy": 0.125 * i, "fear": 1.0 / (i + 3)}, {"src": f"s{i % 4}"}))
            if i % 3 == 0:  # learned again: frequency 2, a window of two emotive records, two metadata values
                writer.learn(sid, events_of(i), {"joy": 0.1 + i}, {"src": "again"})
        for i in DELETED:
            writer.kb.DeletePattern(knowledge_pb2.DeletePatternRequest(node_id=NODE, name=names[i]))
        probes = [events_of(i)[:2] for i in (1, 2, 14, 33, 40)] + [[["a0"], ["c3"]], [["b1"]]]
        expected = (writer.patterns(), writer.statistics(), writer.predictions(probes))
        assert len(expected[0]) == PATTERNS - len(DELETED)
        version = int(pg.psql(f"SELECT version FROM kb_nodes WHERE node_id = '{NODE}'").stdout.strip())
        assert writer.applied_version() == [version]

        # A pool of one connection reads every chunk on it; the default pool reads them on two
        # connections, alternately, in one exported snapshot.
        single = Replica(binaries, pg, env={"KATO_POSTGRES_LOAD_CHUNK_ROWS": str(CHUNK), "KATO_POSTGRES_POOL_SIZE": "1"})
        try:
            assert single.applied_version() == [version]
            assert single.patterns() == expected[0]
            assert single.statistics() == expected[1]
        finally:
            single.stop()
        joined = Replica(binaries, pg, env={"KATO_POSTGRES_LOAD_CHUNK_ROWS": str(CHUNK)})
        assert joined.applied_version() == [version]
        assert joined.patterns() == expected[0]
        assert joined.statistics() == expected[1]
        assert joined.predictions(probes) == expected[2]
        # And it keeps following: a learn on the writer is in the joined replica's next prediction.
        name = writer.learn(writer.session(), [["late"], ["comer"], ["again"]], {"joy": 2.0}, {})
        got = joined.predictions([[["late"], ["comer"]]])
        assert len(got[0]) == 1 and name.removeprefix("PTRN|").encode() in got[0][0]
    finally:
        writer.stop()
        if joined:
            joined.stop()
    r = subprocess.run([str(binaries / "kato-server"), "verify", "--postgres", pg.url()],
                       capture_output=True, timeout=120)
    assert r.returncode == 0 and b"OK: " in r.stdout, r.stdout + r.stderr
