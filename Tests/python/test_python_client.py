"""kato_client (clients/python): the synchronous wrapper, its errors, TLS, the examples and
`pip install`, all against a real kato-server."""
import concurrent.futures
import os
import pathlib
import queue
import shutil
import subprocess
import sys
import threading
import time

import grpc
import pytest

import kato_client
from kato_client import (DefaultSession, EmptySTM, FieldViolation, KatoClient, KatoError, Observation,
                         PatternNotFound, Session, SessionConfig, SessionEnded, SessionExpired, SessionNotFound,
                         StmMode, TLSConfig, Unavailable, UpdateCause, ValidationError)
from kato_client.errors import DeadlineExceeded

from conftest import ROOT, start_kato_server, unavailable

CLIENT_DIR = ROOT / "clients" / "python"
EXAMPLES = CLIENT_DIR / "examples"
ABC = "PTRN|b98534b32c1d7489d4ce1a48724aa65aeecbdba9"  # the pattern a, b, c (as in test_kato_e2e)


@pytest.fixture(scope="module")
def client(kato_server):
    with KatoClient(kato_server.address, timeout=30) as c:
        yield c


def learn_abc(session):
    for w in ("a", "b", "c"):
        session.observe(strings=[w])
    return session.learn()


# ---------------------------------------------------------------- client and sessions

def test_health_and_version(client):
    assert client.health() == "SERVING"
    assert client.health("kato.v2.ObserveService") == "SERVING"
    assert kato_client.__version__ == "0.1.0"


def test_session_context_manager_creates_and_deletes_the_session(client):
    before = client.count_sessions("cm-node")
    with client.session("cm-node", ttl_seconds=120, config={"max_pattern_length": 4},
                        metadata={"owner": "tests", "n": 3}) as s:
        assert isinstance(s, Session) and s.session_id.startswith("session-") and s.node_id == "cm-node"
        assert client.count_sessions("cm-node") == before + 1
        assert client.count_sessions() >= 1
        info = s.info
        assert info.ttl_seconds == 120 and info.metadata == {"owner": "tests", "n": 3}
        assert info.config.max_pattern_length == 4 and info.config.persistence == 5
        assert info.config.stm_mode is StmMode.CLEAR and info.config.recall_threshold == pytest.approx(0.1)
        assert info.created_at is not None and info.expires_at > info.created_at
        sid = s.session_id
    assert s.deleted
    assert client.count_sessions("cm-node") == before
    with pytest.raises(SessionNotFound):
        client.get_session(sid)


def test_session_is_deleted_when_the_block_raises_and_exit_tolerates_a_gone_session(client):
    with pytest.raises(RuntimeError):
        with client.session("cm-raise") as s:
            raise RuntimeError("boom")
    with pytest.raises(SessionNotFound):
        client.get_session(s.session_id)
    with client.session("cm-gone") as s2:
        client.delete_session(s2.session_id)  # deleted behind its back: exit must not raise
    assert client.count_sessions("cm-gone") == 0


def test_session_without_with_and_explicit_delete(client):
    s = client.session("plain", config=SessionConfig(stm_mode="rolling", max_pattern_length=2))
    assert s.info.config.stm_mode is StmMode.ROLLING
    s.delete()
    with pytest.raises(SessionNotFound) as e:
        s.delete()
    assert e.value.reason == "SESSION_NOT_FOUND"


def test_observe_learn_predictions_and_pattern(client):
    with client.session("learn-node") as s:
        r = s.observe(strings=["a"], unique_id="first")
        assert (r.status, r.stm_length, r.time, r.unique_id, r.symbols) == ("okay", 1, 1, "first", ["a"])
        assert r.auto_learned_pattern is None and r.session_id == s.session_id and r.node_id == "learn-node"
        s.observe("b")  # a str is one symbol
        s.observe(strings=["c"])
        assert s.stm() == [["a"], ["b"], ["c"]]
        name = s.learn()
        assert name == ABC and s.stm() == []
        s.observe(strings=["a"])
        s.observe(strings=["b"])
        preds = s.predictions()
        assert [p.name for p in preds] == [ABC.removeprefix("PTRN|")]
        p = preds[0]
        assert p.pattern_name == ABC and p.type == "prototypical" and p.frequency == 1
        assert p.future == [["c"]] and p.present == [["a"], ["b"]] and p.matches == ["a", "b"]
        assert p.sequence == [["a"], ["b"], ["c"]] and 0 < p.similarity <= 1 and p.potential > 0
        futures = s.future_potentials()
        assert futures[0].future == [["c"]] and futures[0].supporting_patterns == 1
        snap = s.get_predictions()
        assert snap.session_id == s.session_id and snap.predictions == preds and snap.future_potentials == futures
        pattern = s.pattern(name)
        assert (pattern.name, pattern.events, pattern.length, pattern.frequency) == (ABC, [["a"], ["b"], ["c"]], 3, 1)
        assert s.pattern(name.removeprefix("PTRN|")) == pattern
        cognition = s.cognition_data()
        assert cognition.symbols == ["b"] and cognition.short_term_memory == [["a"], ["b"]]
        assert [x.name for x in cognition.predictions] == [p.name]
        s.clear_stm()
        assert s.stm() == [] and s.predictions() == []


def test_vectors_emotives_and_metadata_round_trip(client):
    with client.session("rich-node") as s:
        r = s.observe(strings=["x"], vectors=[[1.0, 2.0], [0.5, 0.5]], emotives={"joy": 0.5},
                      metadata={"src": "test", "n": 2, "tags": ["a", "b"]})
        assert r.symbols[0].startswith("VCTR|") and r.symbols[1] == "x"
        percept = s.percept_data()
        assert percept.strings == ["x"] and percept.vectors == [[1.0, 2.0], [0.5, 0.5]]
        assert percept.emotives == {"joy": 0.5} and percept.metadata == {"src": "test", "n": 2, "tags": ["a", "b"]}
        s.observe(strings=["y"], emotives={"joy": 1.5})
        assert s.cognition_data().emotives == {"joy": pytest.approx(1.0)}
        pattern = s.pattern(s.learn())
        assert pattern.emotives == [{"joy": pytest.approx(1.0)}]
        assert pattern.metadata["src"] == ["test"]


def test_observe_sequence_with_every_kind_of_observation(client):
    with client.session("seq-node") as s:
        r = s.observe_sequence(["a", ["b"], Observation(strings=["c"], unique_id="u3")], learn_at_end=True)
        assert r.status == "completed" and r.observations_processed == 3
        assert r.final_learned_pattern == ABC and r.auto_learned_patterns == [ABC]
        assert [x.stm_length for x in r.results] == [1, 2, 3] and r.results[2].unique_id == "u3"
        assert [x.sequence_position for x in r.results] == [0, 1, 2] and r.final_stm_length == 0
        r = s.observe_sequence([{"strings": ["p", "q"]}, ["r", "s"]], learn_after_each=True)
        assert len(r.auto_learned_patterns) == 2 and all(n.startswith("PTRN|") for n in r.auto_learned_patterns)
        assert r.final_learned_pattern is None and r.final_stm_length == 0
        r = s.observe_sequence([["m"], ["n"]], clear_stm_between=True)
        assert r.final_stm_length == 1 and r.final_learned_pattern is None
        assert s.stm() == [["n"]]


def test_auto_learn_is_reported_by_observe(client):
    with client.session("auto-node", config={"max_pattern_length": 2}) as s:
        assert s.observe("a").auto_learned_pattern is None
        r = s.observe("b")
        assert r.auto_learned_pattern and r.auto_learned_pattern.startswith("PTRN|") and r.stm_length == 0


def test_observe_stream_acknowledges_while_the_generator_is_still_producing(client):
    with client.session("stream-node") as s:
        acked = [threading.Event() for _ in range(5)]

        def produce():
            for i in range(5):
                if i:  # the next observation is only produced after the previous one was acknowledged
                    assert acked[i - 1].wait(10), "acknowledgement did not arrive while producing"
                yield Observation(strings=[f"s{i}"], unique_id=f"u{i}")

        got = []
        with s.observe_stream(produce(), timeout=30) as acks:
            for ack in acks:
                got.append(ack)
                acked[ack.sequence_position].set()
        assert [a.unique_id for a in got] == [f"u{i}" for i in range(5)]
        assert [a.stm_length for a in got] == [1, 2, 3, 4, 5] and [a.sequence_position for a in got] == list(range(5))
        assert s.stm()[-1] == ["s4"]


def test_observe_stream_closed_early_stops_quietly(client):
    with client.session("stream-close") as s:
        def endless():
            i = 0
            while True:
                yield [f"e{i}"]
                i += 1
                time.sleep(0.01)

        stream = s.observe_stream(endless())
        first = next(stream)
        stream.close()
        assert first.sequence_position == 0 and list(stream) == [] and stream.closed


def test_observe_stream_reraises_the_producers_exception(client):
    def failing():
        yield ["ok"]
        raise ValueError("bad input")

    d = client.default_session("stream-fail-py")
    with pytest.raises(ValueError, match="bad input"):
        list(d.observe_stream(failing()))
    with pytest.raises(TypeError):
        list(d.observe_stream([{"no_such_field": 1}]))


def test_update_config_extend_and_refresh(client):
    with client.session("cfg-node", ttl_seconds=100) as s:
        info = s.update_config(max_pattern_length=3, recall_threshold=0.3)
        assert info.config.max_pattern_length == 3 and info.config.recall_threshold == pytest.approx(0.3)
        info = s.update_config({"persistence": 7}, sort_symbols=False)
        assert info.config.persistence == 7 and info.config.sort_symbols is False
        assert info.config.max_pattern_length == 3, "genes not given keep their value"
        extended = s.extend(600)
        assert extended.ttl_seconds == 600 and extended.expires_at > info.expires_at
        assert s.refresh().ttl_seconds == 600 and s.info.session_id == s.session_id
        with pytest.raises(ValidationError) as e:
            s.update_config(max_pattern_length=9, persistence=1000)
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and e.value.reason == "VALIDATION_ERROR"
        assert e.value.field_violations[0].field == "config.persistence"
        assert s.refresh().config.max_pattern_length == 3, "an invalid update changes nothing"
        with pytest.raises(TypeError):
            s.update_config(no_such_gene=1)
        with pytest.raises(ValueError):
            s.update_config(stm_mode="SIDEWAYS")


def test_clear_all_wipes_the_nodes_patterns(client):
    with client.session("wipe-node") as s:
        name = learn_abc(s)
        assert s.pattern(name).name == name
        s.observe("x")
        s.clear_all()
        assert s.stm() == []
        with pytest.raises(PatternNotFound) as e:
            s.pattern(name)
        assert e.value.reason == "PATTERN_NOT_FOUND" and e.value.code == grpc.StatusCode.NOT_FOUND


def test_default_session_works_without_a_session_id(client):
    d = client.default_session("legacy-py")
    assert isinstance(d, DefaultSession) and d.session_id == "" and d.node_id == "legacy-py"
    d.clear_all()
    d.observe(strings=["v1"])
    d.observe(strings=["v2"])
    assert d.stm() == [["v1"], ["v2"]]
    assert client.default_session("other-legacy-py").stm() == []
    d.observe(strings=["v3"])
    assert d.learn().startswith("PTRN|")
    d.observe("v1")
    d.observe("v2")
    assert d.predictions()[0].future == [["v3"]]


def test_attach_does_not_delete_a_session_it_does_not_own(client):
    with client.session("attach-node") as owner:
        with client.attach(owner.session_id) as attached:
            assert attached.node_id == "attach-node" and not attached.delete_on_exit
            attached.observe("hello")
        assert owner.stm() == [["hello"]], "leaving the attached block kept the session"
    with pytest.raises(SessionNotFound):
        client.attach(owner.session_id)


# ---------------------------------------------------------------- errors

def test_session_not_found_carries_code_reason_and_trace_id(client):
    with pytest.raises(SessionNotFound) as e:
        client.attach("session-doesnotexist")
    err = e.value
    assert isinstance(err, KatoError) and err.code == grpc.StatusCode.NOT_FOUND
    assert err.reason == "SESSION_NOT_FOUND" and err.domain == "kato.v2"
    assert len(err.trace_id) == 32 and err.metadata["trace_id"] == err.trace_id
    assert "session-doesnotexist" in err.message and err.trace_id in str(err)
    assert isinstance(err.__cause__, grpc.RpcError)


def test_trace_id_comes_from_the_callers_traceparent(kato_server):
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with KatoClient(kato_server.address, metadata=[("traceparent", f"00-{trace}-00f067aa0ba902b7-01")]) as c:
        with pytest.raises(SessionNotFound) as e:
            c.get_session("nope")
    assert e.value.trace_id == trace


@pytest.mark.parametrize("config, field", [
    ({"persistence": 0}, "config.persistence"),
    ({"recall_threshold": 1.5}, "config.recall_threshold"),
    ({"max_predictions": 0}, "config.max_predictions"),
    ({"stm_mode": 7}, "config.stm_mode"),
    ({"indexer_type": "XYZ"}, "config.indexer_type"),
])
def test_invalid_config_raises_validation_error_with_field_violations(client, config, field):
    with pytest.raises(ValidationError) as e:
        client.session("bad-config-py", config=config)
    err = e.value
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.reason == "VALIDATION_ERROR"
    assert err.field_violations and err.field_violations[0].field.startswith(field)
    assert isinstance(err.field_violations[0], FieldViolation) and err.field_violations[0].description
    assert len(err.trace_id) == 32


def test_missing_node_id_and_bad_vectors_are_validation_errors(client):
    with pytest.raises(ValidationError) as e:
        client.session("")
    assert [v.field for v in e.value.field_violations] == ["node_id"]
    with client.session("bad-obs-py") as s:
        s.observe("keep")
        with pytest.raises(ValidationError) as e:
            s.observe(strings=["x"], vectors=[[1.0, 2.0], [1.0]])
        assert e.value.field_violations[0].field == "vectors[1]"
        assert s.stm() == [["keep"]]


def test_learning_an_empty_stm_raises_empty_stm(client):
    with client.session("empty-py") as s:
        with pytest.raises(EmptySTM) as e:
            s.learn()
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION and e.value.reason == "EMPTY_STM"


def test_unreachable_server_raises_unavailable_without_reason():
    with KatoClient("127.0.0.1:1", timeout=5) as c:
        with pytest.raises(Unavailable) as e:
            c.count_sessions()
        assert e.value.code == grpc.StatusCode.UNAVAILABLE and e.value.reason is None and e.value.trace_id is None
        with pytest.raises(Unavailable):
            c.wait_ready(timeout=0.2)


def test_deadline_raises_deadline_exceeded(client):
    # The deadline must leave time for the INITIAL update on a loaded machine (0.5 s did not always).
    sub = client.default_session("deadline-py").subscribe(send_initial=True, timeout=3)
    assert next(sub).cause is UpdateCause.INITIAL
    with pytest.raises(DeadlineExceeded) as e:
        next(sub)  # nothing changes the STM: the subscription's deadline passes
    assert e.value.code == grpc.StatusCode.DEADLINE_EXCEEDED


def test_expired_session_raises_session_expired(binaries):
    server = start_kato_server(binaries, "--session-cleanup-seconds", "1")
    try:
        with KatoClient(server.address, timeout=10) as c:
            s = c.session("ttl-py", ttl_seconds=1)
            time.sleep(2.5)
            with pytest.raises(SessionExpired) as e:
                s.observe("late")
            assert isinstance(e.value, SessionNotFound) and e.value.reason == "SESSION_EXPIRED"
    finally:
        server.stop()


# ---------------------------------------------------------------- subscribe

def test_subscribe_yields_updates_while_another_thread_observes(client):
    with client.session("sub-node") as s:
        learn_abc(s)
        updates = queue.Queue()
        sub = s.subscribe(send_initial=True)

        def reader():
            try:
                for u in sub:
                    updates.put(u)
                updates.put("closed")
            except KatoError as e:
                updates.put(e)

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        first = updates.get(timeout=10)
        assert first.cause is UpdateCause.INITIAL and first.session_id == s.session_id

        def producer():
            with KatoClient(client.target) as other:  # another connection makes the changes
                o = other.attach(s.session_id)
                o.observe("a")
                o.observe("b")
                o.clear_stm()

        threading.Thread(target=producer).start()
        got = [updates.get(timeout=10) for _ in range(3)]
        assert [u.sequence for u in got] == [first.sequence + 1, first.sequence + 2, first.sequence + 3]
        assert [u.cause for u in got] == [UpdateCause.OBSERVE, UpdateCause.OBSERVE, UpdateCause.CLEAR_STM]
        assert got[1].stm == [["a"], ["b"]] and got[1].predictions[0].future == [["c"]] and got[1].time == 5
        assert got[1].future_potentials[0].future == [["c"]]
        threading.Timer(0.2, sub.close).start()  # close from another thread ends the iteration quietly
        assert updates.get(timeout=10) == "closed"
        t.join(10)
        assert sub.closed


def test_subscription_ends_with_session_ended_when_the_session_is_deleted(client):
    s = client.session("sub-end")
    sub = s.subscribe(send_initial=True)
    # Delete only once the server holds the subscription (its INITIAL update came): a subscription
    # that reached the server after the delete would end with SESSION_NOT_FOUND instead.
    assert next(sub).cause is UpdateCause.INITIAL
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: list(sub))
        s.delete()
        with pytest.raises(SessionEnded) as e:
            future.result(timeout=10)
    assert e.value.reason == "SESSION_ENDED" and isinstance(e.value, SessionNotFound) and len(e.value.trace_id) == 32


def test_subscribe_to_a_default_session_and_with_block(client):
    d = client.default_session("sub-default-py")
    d.clear_stm()
    with d.subscribe() as sub:
        initial = next(sub)
        d.observe("z")
        update = next(sub)
    assert initial.cause is UpdateCause.INITIAL and update.cause is UpdateCause.OBSERVE and update.stm[-1] == ["z"]
    assert sub.closed and list(sub) == []


# ---------------------------------------------------------------- api key, TLS

def test_api_key_and_metadata_are_sent_with_every_call():
    seen = queue.Queue()

    def check(request, context):
        seen.put(dict(context.invocation_metadata()))
        return b"\x08\x01"  # HealthCheckResponse{status: SERVING}

    server = grpc.server(concurrent.futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(
        "grpc.health.v1.Health", {"Check": grpc.unary_unary_rpc_method_handler(check)})])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with KatoClient(f"127.0.0.1:{port}", api_key="s3cret", metadata=[("X-Team", "py")]) as c:
            assert c.health() == "SERVING"
        md = seen.get(timeout=5)
        assert md["authorization"] == "Bearer s3cret" and md["x-team"] == "py"
    finally:
        server.stop(None)


def test_tls_and_mutual_tls(binaries, tmp_path):
    from grpch2_support import make_pki
    pki = make_pki(tmp_path)
    server = start_kato_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]))
    try:
        with KatoClient(server.address, tls=TLSConfig(ca_path=pki["ca_pem"]), timeout=10) as c:
            assert c.health() == "SERVING"
            with c.session("tls-node") as s:
                assert s.observe("secure").stm_length == 1
        with KatoClient(f"localhost:{server.port}", tls=TLSConfig(ca_path=str(pki["ca_pem"])), timeout=10) as c:
            assert c.health() == "SERVING"
        with KatoClient(server.address, timeout=5) as plain:
            with pytest.raises(Unavailable):
                plain.health()
    finally:
        server.stop()
    server = start_kato_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]),
                               "--tls-client-ca", str(pki["ca_pem"]))
    try:
        mtls = TLSConfig(ca_path=pki["ca_pem"], cert_path=pki["client_pem"], key_path=pki["client_key"])
        with KatoClient(server.address, tls=mtls, timeout=10) as c:
            assert c.health() == "SERVING"
        with KatoClient(server.address, tls=TLSConfig(ca_path=pki["ca_pem"]), timeout=5) as c:
            with pytest.raises(KatoError):
                c.health()
    finally:
        server.stop()
    with pytest.raises(ValueError):
        KatoClient("127.0.0.1:1", tls=TLSConfig(cert_path=pki["client_pem"]))


# ---------------------------------------------------------------- value conversions (no server)

def test_observation_coercion():
    assert Observation.coerce("a").strings == ("a",)
    assert Observation.coerce(["a", "b"]).strings == ("a", "b")
    assert Observation.coerce({"strings": ["x"], "emotives": {"e": 1.0}}).emotives == {"e": 1.0}
    obs = Observation(strings=["a"])
    assert Observation.coerce(obs) is obs
    req = Observation(strings=["s"], vectors=[[1, 2]], metadata={"k": [1, "x"]}).to_request("sid", "node")
    assert req.session_id == "sid" and list(req.vectors[0].values) == [1.0, 2.0]
    assert req.metadata["k"].list_value.values[1].string_value == "x"


def test_session_config_coercion():
    cfg = SessionConfig.coerce({"persistence": 3}, stm_mode=StmMode.ROLLING)
    msg = cfg.to_pb()
    assert msg.persistence.value == 3 and msg.stm_mode == StmMode.ROLLING.value
    assert not msg.HasField("max_pattern_length")
    assert SessionConfig.from_pb(msg) == SessionConfig(persistence=3, stm_mode=StmMode.ROLLING)


# ---------------------------------------------------------------- examples

def run_example(name, *args, timeout=60):
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR)}
    return subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True, text=True,
                          timeout=timeout, env=env, cwd=ROOT)


def start_example(name, *args):
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(EXAMPLES / name), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)


def test_batch_learner_example_learns_the_built_in_data_set(kato_server, client):
    r = run_example("batch_learner.py", "--target", kato_server.address, "--node", "example-batch")
    assert r.returncode == 0, r.stderr
    learned = [line for line in r.stdout.splitlines() if line.startswith("learned PTRN|")]
    assert len(learned) == 5
    assert "5 sequences, 5 distinct patterns on node 'example-batch'" in r.stdout
    assert "after wake coffee:" in r.stdout and "future=email meeting" in r.stdout
    name = learned[0].split()[1]
    assert client.default_session("example-batch").pattern(name).events == [["wake"], ["coffee"], ["email"], ["meeting"]]
    assert client.count_sessions("example-batch") == 0, "its session was deleted"


def test_batch_learner_example_reads_a_file(kato_server, tmp_path):
    f = tmp_path / "seqs.txt"
    f.write_text("# comment\na b c\n\nx,y z\n")
    r = run_example("batch_learner.py", "--target", kato_server.address, "--node", "example-file", "--file", str(f))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"learned {ABC}  <- a b c"
    assert r.stdout.splitlines()[1].endswith("<- x,y z")


def test_subscriber_example_prints_updates_made_by_the_stream_producer_example(kato_server, client):
    with client.session("example-stream") as s:
        learn_abc(s)
        sub = start_example("subscriber.py", "--target", kato_server.address, "--session", s.session_id,
                            "--max-updates", "4")
        try:
            assert sub.stdout.readline().startswith(f"subscribed to {s.session_id}")
            initial = sub.stdout.readline()
            assert initial.startswith("#") and " INITIAL time=3 " in initial
            r = run_example("stream_producer.py", "--target", kato_server.address, "--session", s.session_id,
                            "--count", "3", "--symbols", "a b c", "--interval", "0.05")
            assert r.returncode == 0, r.stderr
            acks = [line for line in r.stdout.splitlines() if line.startswith("ack ")]
            assert acks == [f"ack {i} id=producer-{i} time={4 + i} stm_length={1 + i} symbols={w}"
                            for i, w in enumerate("abc")]
            assert r.stdout.splitlines()[-1] == "sent 3 observations"
            out, err = sub.communicate(timeout=30)
        finally:
            if sub.poll() is None:
                sub.kill()
        assert sub.returncode == 0, err
        lines = out.splitlines()
        updates = [line for line in lines if line.startswith("#")]
        assert [u.split()[1] for u in updates] == ["OBSERVE"] * 3
        assert "stm=[a b]" in updates[1] and f"{ABC} future=c" in out
        assert lines[-1] == "received 4 updates"
        assert s.stm() == [["a"], ["b"], ["c"]]


def test_subscriber_example_is_bounded_by_duration_and_reports_a_missing_session(kato_server):
    t0 = time.monotonic()
    r = run_example("subscriber.py", "--target", kato_server.address, "--node", "example-idle", "--duration", "1")
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 < 20
    assert r.stdout.splitlines()[-1] == "received 1 updates"
    r = run_example("subscriber.py", "--target", kato_server.address, "--session", "session-nope")
    assert r.returncode == 1 and "SESSION_NOT_FOUND" in r.stderr


def test_subscriber_example_stops_when_the_session_is_deleted(kato_server, client):
    s = client.session("example-ended")
    sub = start_example("subscriber.py", "--target", kato_server.address, "--session", s.session_id)
    try:
        assert sub.stdout.readline().startswith("subscribed to")
        assert " INITIAL " in sub.stdout.readline()
        s.delete()
        out, err = sub.communicate(timeout=30)
    finally:
        if sub.poll() is None:
            sub.kill()
    assert sub.returncode == 0, err
    assert "session ended:" in out and out.splitlines()[-1] == "received 1 updates"


def test_stream_producer_example_with_its_own_session_and_learning(kato_server, client):
    r = run_example("stream_producer.py", "--target", kato_server.address, "--node", "example-own", "--new",
                    "--count", "4", "--symbols", "p q,r", "--emotive", "joy", "--learn")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("created session-")
    assert [line.split()[-1] for line in lines[1:5]] == ["symbols=p", "symbols=q,r", "symbols=p", "symbols=q,r"]
    assert lines[5] == "sent 4 observations" and lines[6].startswith("learned PTRN|")
    assert client.count_sessions("example-own") == 0


def test_examples_show_help():
    for name in ("batch_learner.py", "subscriber.py", "stream_producer.py"):
        r = run_example(name, "--help")
        assert r.returncode == 0 and "--target" in r.stdout, name


# ---------------------------------------------------------------- README and packaging

def readme_blocks(heading):
    text = (CLIENT_DIR / "README.md").read_text()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]


def test_readme_quick_start_and_asyncio_examples_run(kato_server, capsys):
    blocks = readme_blocks("## Quick start")
    for code in (blocks[0], blocks[2]):  # the quick start and the asyncio example
        exec(compile(code.replace("127.0.0.1:50051", kato_server.address), "README.md", "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["True [['email']]", "[['wake'], ['coffee'], ['email']]"]
    assert out[2] == "UpdateCause.INITIAL [['hello']]"


def test_pyproject_version_and_dependencies_match_the_package():
    import tomllib
    project = tomllib.loads((CLIENT_DIR / "pyproject.toml").read_text())["project"]
    assert project["name"] == "kato-client" and project["version"] == kato_client.__version__
    assert project["requires-python"] == ">=3.10"
    assert sorted(project["dependencies"]) == ["grpcio>=1.85.1,<2", "protobuf>=7.35.1,<8"]
    assert (CLIENT_DIR / "kato_client" / "py.typed").exists()
    regen = subprocess.run([str(CLIENT_DIR / "regen.sh"), "--check"], capture_output=True, text=True,
                           env={**os.environ, "PYTHON": sys.executable}, timeout=120)
    assert regen.returncode == 0, regen.stdout + regen.stderr


def test_pip_install_into_a_fresh_venv(tmp_path):
    """`pip install ./clients/python` works offline: a venv that sees this interpreter's grpcio and
    protobuf (through a .pth), the package built without build isolation and without deps."""
    import site
    import setuptools
    if tuple(int(x) for x in setuptools.__version__.split(".")[:2]) < (70, 1):
        unavailable(f"setuptools {setuptools.__version__} < 70.1 (the build requirement) in this environment")
    src = tmp_path / "src"
    shutil.copytree(CLIENT_DIR, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=60)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    (pathlib.Path(purelib) / "outer_site.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    env.pop("PYTHONPATH", None)
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(src)],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    check = ("import kato_client, kato_client.aio, pathlib; p = pathlib.Path(kato_client.__file__).parent; "
             "print(p); assert (p / 'py.typed').exists() and (p / '_pb/kato/v2/types_pb2.pyi').exists(); "
             "print(kato_client.__version__, kato_client.KatoClient.__name__)")
    r = subprocess.run([str(py), "-c", check], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60)
    assert r.returncode == 0, r.stderr
    installed, version = r.stdout.splitlines()
    assert installed.startswith(str(venv)) and version == "0.1.0 KatoClient"


def test_a_subscription_that_broke_before_any_update_resumes_after_the_sequence_it_subscribed_at():
    """A subscriber whose replica dies before any update reached it must not resubscribe from
    nothing (the updates in between would be a silent hole): the client always asks for the state
    at subscription, keeps its sequence and hides it when the caller did not ask for it."""
    from kato_client import _ops
    from kato_client._pb.kato.v2 import predict_pb2

    resumption = _ops.Resumption("s", "n", send_initial=False)
    assert resumption.first_request().send_initial
    initial = predict_pb2.PredictionUpdate(sequence=7, cause=predict_pb2.UPDATE_CAUSE_INITIAL)
    assert not resumption.seen(initial), "the state at subscription was shown though not asked for"
    resumed = resumption.next_request()
    assert (resumed.resume_after_sequence, resumed.send_initial) == (7, False)
    assert resumption.seen(predict_pb2.PredictionUpdate(sequence=8, cause=predict_pb2.UPDATE_CAUSE_OBSERVE))

    asked = _ops.Resumption("s", "n", send_initial=True)
    assert asked.seen(initial), "the state at subscription was hidden though asked for"


def test_a_subscription_keeps_resuming_for_its_time_budget_not_a_fixed_number_of_attempts():
    """A PostgreSQL outage or a whole deployment restarting lasts longer than five quick retries
    (≈3 s): the client keeps resuming for ``resume_for`` seconds after the first failure in a
    row, backing off to at most 2 s, and an update received in between starts the budget again."""
    from kato_client import _ops
    from kato_client._pb.kato.v2 import predict_pb2

    now = [0.0]
    resumption = _ops.Resumption("s", "n", send_initial=True, resume_for=30.0, clock=lambda: now[0])
    resumption.seen(predict_pb2.PredictionUpdate(sequence=3, cause=predict_pb2.UPDATE_CAUSE_INITIAL))
    attempts = 0
    while resumption.next_request() is not None:
        attempts += 1
        backoff = resumption.backoff()
        assert 0 < backoff <= 2.0, backoff
        now[0] += backoff + 0.01  # the sleep, then a call that fails at once
    assert attempts > 5, "gave up after the old five attempts"
    assert 30.0 <= now[0] < 33.0, f"gave up at {now[0]:.1f} s, not after the 30 s budget"

    resumption.seen(predict_pb2.PredictionUpdate(sequence=4, cause=predict_pb2.UPDATE_CAUSE_OBSERVE))
    request = resumption.next_request()
    assert request is not None and request.resume_after_sequence == 4, "an update did not restart the budget"


def test_the_channel_redials_a_refusing_server_as_often_as_a_subscription_resumes():
    """grpc's own reconnect backoff (1 s ×1.6 up to 120 s) would hide a replica that came back from
    a subscription resuming every ≤ 2 s: calls fail at once until grpc's next attempt, which can
    fall past the 30 s budget. The client's channels redial within 0.1–2 s, as the resumption
    backs off; an option the caller gives for the same key wins."""
    from kato_client._transport import RECONNECT_BACKOFF, channel_settings

    _, opts = channel_settings(None, [])
    assert dict(opts) == {"grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 2000}
    assert max(v for _, v in RECONNECT_BACKOFF) <= 2000, "the channel may wait longer than a resumption's backoff"
    _, opts = channel_settings(None, [("grpc.max_reconnect_backoff_ms", 9000), ("grpc.enable_retries", 0)])
    assert dict(opts)["grpc.max_reconnect_backoff_ms"] == 9000
    assert [k for k, _ in opts].count("grpc.max_reconnect_backoff_ms") == 1
    assert dict(opts)["grpc.initial_reconnect_backoff_ms"] == 100


def _slow_proxy(target_port: int, delay: float):
    """A loopback TCP proxy that holds each connection's bytes back for `delay` seconds before it
    relays them both ways: a server slow to complete its handshake (a busy machine, TLS)."""
    import socket
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def pump(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def accept():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            time.sleep(delay)
            upstream = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return listener


def test_a_server_slow_to_handshake_is_still_reached(binaries, tmp_path):
    """The client's reconnect backoff must not shorten the time a connection attempt is given:
    grpc-core takes `grpc.min_reconnect_backoff_ms` as that minimum (20 s by default), and with it at
    100 ms a TLS handshake that took longer failed the call as UNAVAILABLE ("tcp handshaker shutdown")."""
    from grpch2_support import make_pki
    pki = make_pki(tmp_path)
    server = start_kato_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]))
    proxy = _slow_proxy(server.port, 0.5)
    try:
        with KatoClient(f"127.0.0.1:{proxy.getsockname()[1]}", tls=TLSConfig(ca_path=pki["ca_pem"]), timeout=10) as c:
            assert c.health() == "SERVING"
    finally:
        proxy.close()
        server.stop()
