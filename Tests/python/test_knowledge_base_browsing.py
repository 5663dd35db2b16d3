"""kato.v2.KnowledgeBaseService against a real kato-server: a node's patterns page by page in each
order, filtered, its statistics, the same over Connect JSON (a console's calls), and refusals."""
import json

import grpc
import pytest

from kato_client._pb.kato.v2 import knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import start_kato_server
from security_support import MEM

KEYS = [{"principal": "admin", "key": "kb-admin", "roles": ["admin"], "nodes": ["*"]},
        {"principal": "other", "key": "kb-other", "roles": ["reader"], "nodes": ["other-node"]}]
ADMIN = (("authorization", "Bearer kb-admin"),)
NODE = "browse"
LEARNS = [([["a", "b"], ["c"]], 3), ([["a"], ["d"], ["e"]], 2), ([["x"], ["y"]], 1)]


@pytest.fixture(scope="module")
def server(binaries, tmp_path_factory):
    keyfile = tmp_path_factory.mktemp("kb") / "keys.json"
    keyfile.write_text(json.dumps(KEYS))
    s = start_kato_server(binaries, "--auth-keys", str(keyfile), env=MEM)
    with grpc.insecure_channel(s.address) as ch:
        sessions, observe = session_pb2_grpc.SessionServiceStub(ch), observe_pb2_grpc.ObserveServiceStub(ch)
        sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=NODE), metadata=ADMIN).session_id
        for events, times in LEARNS:
            for _ in range(times):
                for event in events:
                    observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=event), metadata=ADMIN)
                observe.Learn(observe_pb2.LearnRequest(session_id=sid), metadata=ADMIN)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def kb(server):
    with grpc.insecure_channel(server.address) as ch:
        yield knowledge_pb2_grpc.KnowledgeBaseServiceStub(ch)


def events(pattern):
    return [list(e.symbols) for e in pattern.pattern_data]


def test_patterns_by_frequency_then_page_by_page(kb):
    first = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=2), metadata=ADMIN)
    assert first.total_size == 3
    assert [events(p) for p in first.patterns] == [[["a", "b"], ["c"]], [["a"], ["d"], ["e"]]]
    assert [p.frequency for p in first.patterns] == [3, 2]
    assert first.next_page_token
    second = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=2, page_token=first.next_page_token),
                             metadata=ADMIN)
    assert [events(p) for p in second.patterns] == [[["x"], ["y"]]] and second.next_page_token == ""


def test_orders_and_filters(kb):
    by_name = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, order=knowledge_pb2.PATTERN_ORDER_NAME), metadata=ADMIN)
    names = [p.name for p in by_name.patterns]
    assert names == sorted(names) and all(n.startswith("PTRN|") for n in names)
    by_length = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, order=knowledge_pb2.PATTERN_ORDER_LENGTH_DESC),
                                metadata=ADMIN)
    assert [p.length for p in by_length.patterns] == [3, 3, 2]
    with_a = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, symbol="a"), metadata=ADMIN)
    assert with_a.total_size == 2
    one = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, name_prefix=names[0][:12]), metadata=ADMIN)
    assert [p.name for p in one.patterns] == [names[0]]


def test_statistics(kb):
    stats = kb.GetKnowledgeBaseStatistics(knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id=NODE), metadata=ADMIN)
    assert (stats.pattern_count, stats.symbol_count, stats.total_frequency) == (3, 7, 6)
    assert [(c.length, c.patterns) for c in stats.length_distribution] == [(2, 1), (3, 2)]
    assert stats.top_symbols[0].symbol == "a" and stats.top_symbols[0].frequency == 5


def test_bad_requests_are_invalid_argument(kb):
    first = kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=1), metadata=ADMIN)
    for request in (knowledge_pb2.ListPatternsRequest(node_id=""),
                    knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=1001),
                    knowledge_pb2.ListPatternsRequest(node_id=NODE, page_token="garbage"),
                    # a token is bound to the order and filters it was issued for
                    knowledge_pb2.ListPatternsRequest(node_id=NODE, page_token=first.next_page_token, symbol="a")):
        with pytest.raises(grpc.RpcError) as e:
            kb.ListPatterns(request, metadata=ADMIN)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, request


def test_a_principal_sees_only_its_nodes(kb):
    with pytest.raises(grpc.RpcError) as e:
        kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE), metadata=(("authorization", "Bearer kb-other"),))
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id=NODE))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_console_reads_it_over_connect_json(server):
    import http.client
    host, port = server.address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("POST", "/kato.v2.KnowledgeBaseService/ListPatterns",
                 body=json.dumps({"nodeId": NODE, "order": "PATTERN_ORDER_LENGTH_DESC", "pageSize": 1}),
                 headers={"content-type": "application/json", "authorization": "Bearer kb-admin"})
    resp = conn.getresponse()
    page = json.loads(resp.read())
    assert resp.status == 200
    assert page["totalSize"] == "3" and page["patterns"][0]["length"] == "3" and page["nextPageToken"]
