"""kato.v2 end to end: a Python grpcio client against a real kato-server."""
import math
import queue
import threading
import time

import grpc
import pytest

from kato_client._pb.google.rpc import error_details_pb2, status_pb2
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2
from kato_client._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc

from conftest import start_kato_server
from kato_golden import REPOSITORY_GOLDEN, SHARED_GOLDEN, GoldenRunner, golden_dir, load_cases, load_cases_from, recorded_total

CASES = load_cases()


@pytest.fixture(scope="module")
def channel(kato_server):
    with grpc.insecure_channel(kato_server.address) as ch:
        yield ch


@pytest.fixture(scope="module")
def stubs(channel):
    class Stubs:
        sessions = session_pb2_grpc.SessionServiceStub(channel)
        observe = observe_pb2_grpc.ObserveServiceStub(channel)
        predict = predict_pb2_grpc.PredictServiceStub(channel)
    return Stubs


def details(err):
    """(ErrorInfo, BadRequest or None) from grpc-status-details-bin."""
    raw = dict(err.trailing_metadata()).get("grpc-status-details-bin")
    assert raw is not None, "error without grpc-status-details-bin"
    status = status_pb2.Status.FromString(raw)
    assert status.code == err.code().value[0]
    info, bad = None, None
    for d in status.details:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
        if d.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            d.Unpack(bad)
    assert info is not None and info.domain == "kato.v2" and len(info.metadata["trace_id"]) == 32
    return info, bad


def create(stubs, node="node-a", **kw):
    return stubs.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node, **kw))


def subscribed(stubs, sid):
    """A subscription to the session, read into a queue by a thread, past its INITIAL update:
    (the call, to cancel; the queue of the updates after it)."""
    call = stubs.predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True))
    updates = queue.Queue()

    def reader():
        try:
            for u in call:
                updates.put(u)
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.CANCELLED

    threading.Thread(target=reader, daemon=True).start()
    assert updates.get(timeout=30).cause == predict_pb2.UPDATE_CAUSE_INITIAL
    return call, updates


def observe(stubs, sid, *strings, **kw):
    return stubs.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=list(strings), **kw))


def stm(stubs, sid="", node=""):
    return [list(e.symbols) for e in stubs.observe.GetShortTermMemory(
        observe_pb2.GetShortTermMemoryRequest(session_id=sid, node_id=node)).events]


# ---------------------------------------------------------------- golden behaviour

@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_golden_case_reproduced_over_grpc(channel, case):
    failure = GoldenRunner(channel).run_case(case)
    assert failure is None, failure


def test_golden_cases_are_present():
    """Every recorded case is in the repository (a clone alone runs them all)."""
    assert recorded_total(REPOSITORY_GOLDEN) == 112
    assert len(load_cases_from(REPOSITORY_GOLDEN)) == 112
    assert len(CASES) == recorded_total(golden_dir())


def test_repository_golden_copy_equals_shared_recording():
    if not SHARED_GOLDEN.is_dir():
        pytest.skip("no ../shared/golden beside this clone to cross-check against; the suite runs the repository's copy")
    names = sorted(p.name for p in SHARED_GOLDEN.iterdir())
    assert sorted(p.name for p in REPOSITORY_GOLDEN.iterdir()) == names
    for name in names:
        assert (REPOSITORY_GOLDEN / name).read_bytes() == (SHARED_GOLDEN / name).read_bytes(), \
            f"Tests/Fixtures/golden/{name} differs from ../shared/golden/{name}"


# ---------------------------------------------------------------- sessions

def test_session_lifecycle_create_get_extend_update_count_delete(stubs):
    s = create(stubs, node="lifecycle", ttl_seconds=120, config=types_pb2.SessionConfig(stm_mode=types_pb2.STM_MODE_ROLLING))
    assert s.session_id.startswith("session-") and len(s.session_id.split("-")[1]) == 32
    assert s.node_id == "lifecycle" and s.ttl_seconds == 120
    assert s.config.stm_mode == types_pb2.STM_MODE_ROLLING and s.config.recall_threshold.value == pytest.approx(0.1)
    got = stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
    assert got.session_id == s.session_id
    ext = stubs.sessions.ExtendSession(session_pb2.ExtendSessionRequest(session_id=s.session_id, ttl_seconds=600))
    assert ext.ttl_seconds == 600 and ext.expires_at.seconds > s.expires_at.seconds
    cfg = types_pb2.SessionConfig()
    cfg.max_pattern_length.value = 3
    upd = stubs.sessions.UpdateSessionConfig(session_pb2.UpdateSessionConfigRequest(session_id=s.session_id, config=cfg))
    assert upd.config.max_pattern_length.value == 3 and upd.config.stm_mode == types_pb2.STM_MODE_ROLLING
    assert stubs.sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="lifecycle")).count == 1
    stubs.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=s.session_id))
    with pytest.raises(grpc.RpcError) as e:
        stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    assert details(e.value)[0].reason == "SESSION_NOT_FOUND"
    assert stubs.sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="lifecycle")).count == 0


def test_two_sessions_of_one_node_share_patterns_but_not_stm(stubs):
    a, b = create(stubs, node="shared-kb"), create(stubs, node="shared-kb")
    observe(stubs, a.session_id, "x")
    observe(stubs, a.session_id, "y")
    assert stm(stubs, b.session_id) == []
    name = stubs.observe.Learn(observe_pb2.LearnRequest(session_id=a.session_id)).pattern_name
    observe(stubs, b.session_id, "x")
    r = observe(stubs, b.session_id, "y")
    assert r.time == 2, "time is per session"
    preds = stubs.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=b.session_id)).predictions
    assert [p.name for p in preds] == [name.removeprefix("PTRN|")]
    assert stm(stubs, a.session_id) == []


def test_sessions_of_different_nodes_never_share_patterns(stubs):
    a, b = create(stubs, node="iso-1"), create(stubs, node="iso-2")
    for w in ("p", "q"):
        observe(stubs, a.session_id, w)
    name = stubs.observe.Learn(observe_pb2.LearnRequest(session_id=a.session_id)).pattern_name
    for w in ("p", "q"):
        observe(stubs, b.session_id, w)
    assert stubs.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=b.session_id)).predictions == []
    with pytest.raises(grpc.RpcError) as e:
        stubs.predict.GetPattern(predict_pb2.GetPatternRequest(session_id=b.session_id, name=name))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and details(e.value)[0].reason == "PATTERN_NOT_FOUND"


def test_calls_without_session_id_use_the_nodes_default_session(stubs):
    stubs.observe.Observe(observe_pb2.ObserveRequest(node_id="legacy-node", strings=["v1"]))
    stubs.observe.Observe(observe_pb2.ObserveRequest(node_id="legacy-node", strings=["v2"]))
    assert stm(stubs, node="legacy-node") == [["v1"], ["v2"]]
    assert stm(stubs, node="other-legacy-node") == []
    learned = stubs.observe.Learn(observe_pb2.LearnRequest(node_id="legacy-node"))
    assert learned.pattern_name.startswith("PTRN|") and learned.session_id == ""


def test_session_expires_after_its_ttl(binaries):
    server = start_kato_server(binaries, "--session-cleanup-seconds", "1")
    try:
        with grpc.insecure_channel(server.address) as ch:
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            s = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="ttl", ttl_seconds=1))
            keep = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="ttl", ttl_seconds=60))
            time.sleep(2.5)
            with pytest.raises(grpc.RpcError) as e:
                sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
            assert e.value.code() == grpc.StatusCode.NOT_FOUND
            assert details(e.value)[0].reason == "SESSION_EXPIRED"
            assert sessions.CountSessions(session_pb2.CountSessionsRequest(node_id="ttl")).count == 1
            assert sessions.GetSession(session_pb2.GetSessionRequest(session_id=keep.session_id)).session_id == keep.session_id
    finally:
        server.stop()


def test_access_slides_the_expiry(stubs):
    s = create(stubs, node="sliding", ttl_seconds=100)
    time.sleep(1.1)
    observe(stubs, s.session_id, "tick")
    got = stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
    assert got.expires_at.seconds >= s.expires_at.seconds + 1


# ---------------------------------------------------------------- streaming

def test_subscriber_receives_every_stm_change_in_order(channel, stubs):
    s = create(stubs, node="streaming")
    updates = queue.Queue()
    call = stubs.predict.SubscribePredictions(
        predict_pb2.SubscribePredictionsRequest(session_id=s.session_id, send_initial=True))

    def reader():
        try:
            for u in call:
                updates.put(u)
        except grpc.RpcError as e:
            updates.put(e)

    threading.Thread(target=reader, daemon=True).start()
    first = updates.get(timeout=30)
    assert first.cause == predict_pb2.UPDATE_CAUSE_INITIAL
    # Another client (its own channel) makes the changes.
    other = observe_pb2_grpc.ObserveServiceStub(grpc.insecure_channel(channel._channel.target().decode()))
    for w in ("a", "b", "c"):
        other.Observe(observe_pb2.ObserveRequest(session_id=s.session_id, strings=[w]))
    other.Learn(observe_pb2.LearnRequest(session_id=s.session_id))
    for w in ("a", "b"):
        other.Observe(observe_pb2.ObserveRequest(session_id=s.session_id, strings=[w]))
    other.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=s.session_id))
    got = [updates.get(timeout=30) for _ in range(7)]
    assert [u.sequence for u in got] == list(range(first.sequence + 1, first.sequence + 8))
    assert [u.cause for u in got] == [predict_pb2.UPDATE_CAUSE_OBSERVE] * 3 + [predict_pb2.UPDATE_CAUSE_LEARN] + \
        [predict_pb2.UPDATE_CAUSE_OBSERVE] * 2 + [predict_pb2.UPDATE_CAUSE_CLEAR_STM]
    assert [[list(e.symbols) for e in u.stm] for u in got[:3]] == [[["a"]], [["a"], ["b"]], [["a"], ["b"], ["c"]]]
    assert got[5].predictions and got[5].predictions[0].future[0].symbols == ["c"]
    # Deleting the session ends the subscription with a clear status.
    stubs.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=s.session_id))
    end = updates.get(timeout=30)
    assert isinstance(end, grpc.RpcError) and end.code() == grpc.StatusCode.NOT_FOUND
    assert details(end)[0].reason == "SESSION_ENDED"


def test_observe_stream_acknowledges_each_observation_in_order(stubs):
    s = create(stubs, node="obs-stream")
    requests = [observe_pb2.ObserveRequest(session_id=s.session_id, strings=[f"s{i}"], unique_id=f"u{i}") for i in range(50)]
    acks = list(stubs.observe.ObserveStream(iter(requests)))
    assert [a.unique_id for a in acks] == [f"u{i}" for i in range(50)]
    assert [a.sequence_position for a in acks] == list(range(50))
    assert [a.stm_length for a in acks] == list(range(1, 51))
    assert stm(stubs, s.session_id)[-1] == ["s49"]


def test_observe_sequence_results_report_each_observations_symbols(stubs):
    s = create(stubs, node="sequence-symbols")
    r = stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
        session_id=s.session_id,
        observations=[types_pb2.Observation(strings=["z", "y"]), types_pb2.Observation(strings=["x"])]))
    assert [list(x.symbols) for x in r.results] == [["y", "z"], ["x"]], "sorted, as Observe reports them"


def test_observe_sequence_learns_after_each_and_at_end(stubs):
    s = create(stubs, node="sequence")
    r = stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
        session_id=s.session_id, learn_at_end=True,
        observations=[types_pb2.Observation(strings=[w]) for w in ("a", "b", "c")]))
    assert r.observations_processed == 3 and r.final_learned_pattern == "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9"
    assert [x.stm_length for x in r.results] == [1, 2, 3] and r.final_stm_length == 0


@pytest.mark.parametrize("threshold,last", [(0.1, "c"), (0.1, "zz"), (0.75, "zz")])
def test_observe_sequence_without_subscriber_leaves_the_predictions_observe_by_observe_leaves(stubs, threshold, last):
    # Without a subscriber the server computes only the predictions a later call can read
    # (KatoEngine+UnreadPredictions.swift); a session observing one call at a time, and one whose
    # subscriber sees every step, must end with the same predictions and future potentials. The
    # last symbol unknown with a high threshold: it finds nothing, so the potentials come from an
    # earlier observation.
    node = f"unread-{threshold}-{last}"
    teacher = create(stubs, node=node)
    for events in (["a", "b", "c", "d"], ["a", "b", "x"], ["b", "c", "y", "z"]):
        stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            session_id=teacher.session_id, learn_at_end=True,
            observations=[types_pb2.Observation(strings=[w]) for w in events]))
    config = types_pb2.SessionConfig(recall_threshold={"value": threshold})
    words = ["a", "b", last]
    one_by_one = create(stubs, node=node, config=config)
    for w in words:
        observe(stubs, one_by_one.session_id, w)
    watched = create(stubs, node=node, config=config)
    call, updates = subscribed(stubs, watched.session_id)
    alone = create(stubs, node=node, config=config)
    for s in (watched, alone):
        stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            session_id=s.session_id, observations=[types_pb2.Observation(strings=[w]) for w in words]))
    steps = [updates.get(timeout=30) for _ in words]
    call.cancel()

    def predictions(s):
        return stubs.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=s.session_id))

    expected = predictions(one_by_one)
    assert len(expected.future_potentials) > 0
    assert (len(expected.predictions) == 0) == (threshold == 0.75)  # the case where the last finds nothing
    for s in (watched, alone):
        got = predictions(s)
        assert list(got.predictions) == list(expected.predictions)
        assert list(got.future_potentials) == list(expected.future_potentials)
    # The subscriber still sees the intermediate observation's own predictions.
    assert len(steps[1].predictions) > 0 and len(steps[0].predictions) == 0


# ---------------------------------------------------------------- errors

def test_unknown_session_is_not_found_with_error_info(stubs):
    with pytest.raises(grpc.RpcError) as e:
        observe(stubs, "session-doesnotexist", "a")
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    info, _ = details(e.value)
    assert info.reason == "SESSION_NOT_FOUND"


def test_trace_id_from_traceparent_is_returned_in_error_details(stubs):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with pytest.raises(grpc.RpcError) as e:
        stubs.observe.Observe(observe_pb2.ObserveRequest(session_id="nope", strings=["a"]),
                              metadata=[("traceparent", f"00-{trace}-00f067aa0ba902b7-01")])
    info, _ = details(e.value)
    assert info.metadata["trace_id"] == trace
    assert dict(e.value.trailing_metadata())["x-trace-id"] == trace


@pytest.mark.parametrize("config, field", [
    (types_pb2.SessionConfig(persistence={"value": 0}), "config.persistence"),
    (types_pb2.SessionConfig(recall_threshold={"value": 1.5}), "config.recall_threshold"),
    (types_pb2.SessionConfig(max_predictions={"value": 0}), "config.max_predictions"),
    (types_pb2.SessionConfig(max_pattern_length={"value": -1}), "config.max_pattern_length"),
    (types_pb2.SessionConfig(stm_mode=7), "config.stm_mode"),
    (types_pb2.SessionConfig(indexer_type={"value": "XYZ"}), "config.indexer_type"),
])
def test_invalid_config_is_rejected_with_a_field_violation(stubs, config, field):
    with pytest.raises(grpc.RpcError) as e:
        create(stubs, node="bad-config", config=config)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    info, bad = details(e.value)
    assert info.reason == "VALIDATION_ERROR"
    assert bad is not None and bad.field_violations[0].field.startswith(field)


def test_invalid_config_update_changes_nothing(stubs):
    s = create(stubs, node="bad-update")
    with pytest.raises(grpc.RpcError) as e:
        stubs.sessions.UpdateSessionConfig(session_pb2.UpdateSessionConfigRequest(
            session_id=s.session_id, config=types_pb2.SessionConfig(max_pattern_length={"value": 2}, persistence={"value": 1000})))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    got = stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
    assert got.config.max_pattern_length.value == 0 and got.config.persistence.value == 5


def test_missing_node_id_is_invalid_argument(stubs):
    with pytest.raises(grpc.RpcError) as e:
        stubs.sessions.CreateSession(session_pb2.CreateSessionRequest())
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(e.value)[1].field_violations[0].field == "node_id"


@pytest.mark.parametrize("vectors, field", [
    ([[1.0, math.nan]], "vectors[0][1]"),
    ([[1.0, math.inf]], "vectors[0][1]"),
    ([[1.0, 2.0], [1.0]], "vectors[1]"),
])
def test_bad_observation_is_rejected_and_leaves_stm_unchanged(stubs, vectors, field):
    s = create(stubs, node="bad-obs")
    observe(stubs, s.session_id, "keep")
    with pytest.raises(grpc.RpcError) as e:
        stubs.observe.Observe(observe_pb2.ObserveRequest(
            session_id=s.session_id, strings=["x"], vectors=[types_pb2.Vector(values=v) for v in vectors]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(e.value)[1].field_violations[0].field == field
    assert stm(stubs, s.session_id) == [["keep"]]
    assert observe(stubs, s.session_id, "next").time == 2


def test_nan_emotive_is_rejected(stubs):
    s = create(stubs, node="bad-emotive")
    with pytest.raises(grpc.RpcError) as e:
        stubs.observe.Observe(observe_pb2.ObserveRequest(session_id=s.session_id, strings=["x"], emotives={"joy": math.nan}))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_learning_from_an_empty_stm_is_a_failed_precondition(stubs):
    s = create(stubs, node="empty-learn")
    with pytest.raises(grpc.RpcError) as e:
        stubs.observe.Learn(observe_pb2.LearnRequest(session_id=s.session_id))
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details(e.value)[0].reason == "EMPTY_STM"


def test_huge_inputs_get_a_documented_answer_never_a_crash(stubs):
    s = create(stubs, node="huge")
    r = observe(stubs, s.session_id, *[f"s{i}" for i in range(100_000)])
    assert r.stm_length == 1, "10^5 symbols in one event are accepted (limit: 100,000)"
    assert observe(stubs, s.session_id, "x" * 1_000_000).stm_length == 2, "a 1 MB symbol is accepted (limit: 1 MiB)"
    with pytest.raises(grpc.RpcError) as e:
        observe(stubs, s.session_id, "x" * (2 << 20))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details(e.value)[1].field_violations[0].field == "strings[0]"
    with pytest.raises(grpc.RpcError) as e:
        observe(stubs, s.session_id, *[f"s{i}" for i in range(100_001)])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert observe(stubs, s.session_id, "after").stm_length == 3


def test_non_utf8_symbol_is_rejected_by_the_protobuf_layer(channel):
    # Hand-encoded ObserveRequest{session_id: "x", strings: [b"\xff\xfe"]}: not valid UTF-8.
    raw = bytes([0x0A, 0x01, ord("x"), 0x1A, 0x02, 0xFF, 0xFE])
    call = channel.unary_unary("/kato.v2.ObserveService/Observe", request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as e:
        call(raw)
    assert e.value.code() == grpc.StatusCode.INTERNAL


def test_prediction_past_its_deadline_is_abandoned_and_changes_nothing(stubs):
    import random
    rnd = random.Random(5)
    vocab = [f"w{i:03d}" for i in range(300)]
    cfg = types_pb2.SessionConfig(process_predictions={"value": False})
    s = create(stubs, node="deadline", config=cfg)
    for _ in range(3):
        stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            session_id=s.session_id, learn_after_each=True,
            observations=[types_pb2.Observation(strings=rnd.sample(vocab, 150)) for _ in range(1500)]))
    stubs.sessions.UpdateSessionConfig(session_pb2.UpdateSessionConfigRequest(
        session_id=s.session_id, config=types_pb2.SessionConfig(process_predictions={"value": True})))
    observe(stubs, s.session_id, "first")
    with pytest.raises(grpc.RpcError) as e:
        stubs.observe.Observe(observe_pb2.ObserveRequest(session_id=s.session_id, strings=rnd.sample(vocab, 150)), timeout=0.01)
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    time.sleep(0.3)
    assert stm(stubs, s.session_id) == [["first"]], "an abandoned observe leaves the STM as it was"
    got = stubs.sessions.GetSession(session_pb2.GetSessionRequest(session_id=s.session_id))
    assert got.time == 4501


def test_health_reports_serving_for_every_kato_service(channel):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "kato.v2.SessionService", "kato.v2.ObserveService", "kato.v2.PredictService"):
        assert health.Check(health_pb2.HealthCheckRequest(service=service)).status == health_pb2.HealthCheckResponse.SERVING


def test_observe_sequence_sends_one_update_per_change(stubs):
    s = create(stubs, node="sequence-updates")
    call, updates = subscribed(stubs, s.session_id)
    stubs.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
        session_id=s.session_id, learn_at_end=True,
        observations=[types_pb2.Observation(strings=[w]) for w in ("a", "b", "c")]))
    got = [updates.get(timeout=30) for _ in range(4)]
    call.cancel()
    assert [u.cause for u in got] == [predict_pb2.UPDATE_CAUSE_OBSERVE] * 3 + [predict_pb2.UPDATE_CAUSE_LEARN]
    assert [len(u.stm) for u in got] == [1, 2, 3, 0]
    assert [u.sequence for u in got] == [got[0].sequence + i for i in range(4)]
