"""Feature flags (the config file's `flags` section) changed while kato-server runs: each flag's
effect observed through a real client (grpcio) before and after a reload — by SIGHUP or by the
file watcher — plus refused files, metrics, --check-config and calls that span a change.

Flag semantics: docs/OPERATIONS.md ("Feature flags").
"""
import json
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kato_client._pb.kato.v2 import (observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2,
                                     session_pb2_grpc, types_pb2)

from conftest import start_kato_server
from security_support import status_details

FEATURES = ["v2_sessions", "auto_learn", "emotives", "predictions", "circuit_breaker", "rate_limits", "maintenance",
            "access_log"]


def metrics(admin):
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        return r.read().decode()


def metric(admin, name, labels=""):
    pattern = re.compile(rf"^{re.escape(name)}{re.escape(labels)}\s+(\S+)$", re.M)
    m = pattern.search(metrics(admin))
    return float(m.group(1)) if m else None


def ready_status(admin):
    try:
        with urllib.request.urlopen(f"http://{admin}/health/ready", timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


class FlaggedServer:
    """A kato-server started with `--config FILE` holding `{"flags": …}`; `set` rewrites the
    file and waits until the server applied (or refused) it."""

    def __init__(self, binaries, tmp_path, flags=None, *extra, env=None, settings=None):
        self.path = tmp_path / "kato.json"
        self.settings = settings or {}
        self.write(flags or {})
        self.server = start_kato_server(binaries, "--config", str(self.path), *extra, env=env)
        self.admin = self.server.admin()
        self.address = self.server.address
        self.channel = grpc.insecure_channel(self.address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(self.channel)

    def write(self, flags, raw=None):
        self.path.write_text(raw if raw is not None else json.dumps({**self.settings, "flags": flags}, indent=2))

    def counters(self):
        return (metric(self.admin, "kato_flags_reloads_total") or 0, metric(self.admin, "kato_flags_reload_failures_total") or 0)

    def set(self, flags, via="sighup", raw=None, expect_refused=False):
        before = self.counters()
        self.write(flags, raw)
        started = time.monotonic()
        if via == "sighup":
            self.server.proc.send_signal(signal.SIGHUP)
        index = 1 if expect_refused else 0
        while time.monotonic() - started < 30:  # a budget for a loaded machine; returns as soon as applied
            if self.counters()[index] > before[index]:
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"the server did not {'refuse' if expect_refused else 'apply'} {flags or raw} ({via})")

    def stop(self):
        self.channel.close()
        code = self.server.stop()
        return code, self.server.proc.stderr.read()


@pytest.fixture
def flagged(binaries, tmp_path):
    servers = []

    def make(flags=None, *extra, **kw):
        s = FlaggedServer(binaries, tmp_path, flags, *extra, **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


def feature_disabled(call, flag):
    with pytest.raises(grpc.RpcError) as e:
        call()
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED, e.value
    info, _ = status_details(e.value)
    assert info.reason == "FEATURE_DISABLED" and info.metadata["feature"] == flag
    return e.value


def learn_pattern(s, node, *events):
    for ev in events:
        s.observe.Observe(observe_pb2.ObserveRequest(node_id=node, strings=[ev]), timeout=10)
    return s.observe.Learn(observe_pb2.LearnRequest(node_id=node), timeout=10).pattern_name


# ------------------------------------------------------------------ one test per flag

def test_v2_sessions_off_refuses_session_calls_keeps_default_session_and_open_subscriptions(flagged):
    s = flagged()
    sid = s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="flags"), timeout=10).session_id
    stream = s.predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(node_id="flags", send_initial=True), timeout=30)
    next(stream)
    s.set({"v2_sessions": False})
    feature_disabled(lambda: s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="flags"), timeout=10), "v2_sessions")
    feature_disabled(lambda: s.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid), timeout=10), "v2_sessions")
    feature_disabled(lambda: s.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["x"]), timeout=10), "v2_sessions")
    # The default session of a node keeps working, and the subscription opened before the change
    # is still open: it gets the update of this observation.
    s.observe.Observe(observe_pb2.ObserveRequest(node_id="flags", strings=["during"]), timeout=10)
    update = next(stream)
    assert any("during" in e.symbols for e in update.stm)
    s.set({"v2_sessions": True})
    assert s.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid), timeout=10).session_id == sid
    stream.cancel()


def test_auto_learn_off_skips_auto_learn_and_says_so(flagged):
    s = flagged()
    config = types_pb2.SessionConfig()
    config.max_pattern_length.value = 2
    sid = s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="auto", config=config), timeout=10).session_id

    def two(a, b):
        s.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[a]), timeout=10)
        return s.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[b]), timeout=10)

    on = two("a1", "b1")
    assert on.auto_learned_pattern and not on.auto_learn_skipped
    s.set({"auto_learn": False}, via="watch")
    off = two("a2", "b2")
    assert off.auto_learned_pattern == "" and off.auto_learn_skipped
    s.set({"auto_learn": True}, via="watch")
    s.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid), timeout=10)
    again = two("a3", "b3")
    assert again.auto_learned_pattern and not again.auto_learn_skipped


def test_emotives_off_refuses_observations_with_emotives_only(flagged):
    s = flagged()
    with_emotives = observe_pb2.ObserveRequest(node_id="emo", strings=["e"], emotives={"joy": 0.5})
    s.observe.Observe(with_emotives, timeout=10)
    s.set({"emotives": False})
    feature_disabled(lambda: s.observe.Observe(with_emotives, timeout=10), "emotives")
    s.observe.Observe(observe_pb2.ObserveRequest(node_id="emo", strings=["plain"]), timeout=10)
    s.set({"emotives": True})
    s.observe.Observe(with_emotives, timeout=10)


def test_predictions_off_answers_an_empty_list_with_a_trailer_saying_so(flagged):
    s = flagged()
    learn_pattern(s, "pred", "p", "q")
    for ev in ("p", "q"):  # KATO predicts from two symbols on
        s.observe.Observe(observe_pb2.ObserveRequest(node_id="pred", strings=[ev]), timeout=10)
    request = predict_pb2.GetPredictionsRequest(node_id="pred")
    on, call = s.predict.GetPredictions.with_call(request, timeout=10)
    assert len(on.predictions) >= 1 and on.count == len(on.predictions)
    assert "kato-predictions" not in dict(call.trailing_metadata())
    s.set({"predictions": False}, via="watch")
    off, call = s.predict.GetPredictions.with_call(request, timeout=10)
    assert list(off.predictions) == [] and off.count == 0
    assert dict(call.trailing_metadata()).get("kato-predictions") == "disabled"
    s.set({"predictions": True}, via="watch")
    assert len(s.predict.GetPredictions(request, timeout=10).predictions) >= 1


def test_circuit_breaker_off_never_refuses_with_circuit_open(flagged, tmp_path):
    control = tmp_path / "faults"
    control.write_text("1")  # every commit fails
    s = flagged({"circuit_breaker": False}, "--enable-test-faults", "--store-breaker-failures", "2",
                "--store-breaker-reset-seconds", "60", env={"KATO_TEST_STORE_FAULT_CONTROL": str(control)})

    def learn_reason(i):
        with pytest.raises(grpc.RpcError) as e:
            learn_pattern(s, "cb", f"x{i}", f"y{i}")
        s.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(node_id="cb"), timeout=10)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
        return status_details(e.value)[0].reason

    assert [learn_reason(i) for i in range(4)] == ["DATABASE_ERROR"] * 4
    assert metric(s.admin, "kato_circuit_breaker_state") == 0
    s.set({"circuit_breaker": True})
    # The breaker counted the failures while off: on again, it is open.
    assert learn_reason(10) == "CIRCUIT_OPEN"
    assert metric(s.admin, "kato_circuit_breaker_state") == 1


def test_rate_limit_flags_change_the_session_rate_and_switch_limits_off(flagged):
    s = flagged()
    sid = s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="rl"), timeout=10).session_id
    request = observe_pb2.GetShortTermMemoryRequest(session_id=sid)
    for _ in range(5):
        s.observe.GetShortTermMemory(request, timeout=10)
    # 0.1 a second: the calls below must not span a refill (10 s), however loaded the machine.
    s.set({"rate_limit_session_rate": 0.1, "rate_limit_session_burst": 1})
    s.observe.GetShortTermMemory(request, timeout=10)  # may take the one token
    with pytest.raises(grpc.RpcError) as e:
        for _ in range(3):
            s.observe.GetShortTermMemory(request, timeout=10)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_details(e.value)[0].reason == "RATE_LIMITED"
    s.set({"rate_limits": False, "rate_limit_session_rate": 0.1, "rate_limit_session_burst": 1})
    for _ in range(5):
        s.observe.GetShortTermMemory(request, timeout=10)
    assert metric(s.admin, "kato_feature_enabled", '{feature="rate_limits"}') == 0


def test_rate_limit_principal_flags_change_the_principal_rate_in_place_and_back(flagged):
    s = flagged(None, "--rate-limit-principal-rate", "1000", "--rate-limit-principal-burst", "1000")
    request = observe_pb2.GetShortTermMemoryRequest(node_id="rl-principal")
    for _ in range(5):
        s.observe.GetShortTermMemory(request, timeout=10)
    limited = lambda: metric(s.admin, "kato_rate_limited_total", '{scope="principal"}') or 0
    before = limited()
    s.set({"rate_limit_principal_rate": 0.5, "rate_limit_principal_burst": 1})
    with pytest.raises(grpc.RpcError) as e:
        for _ in range(4):
            s.observe.GetShortTermMemory(request, timeout=10)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert status_details(e.value)[0].reason == "RATE_LIMITED"
    assert limited() > before, "the refusal was not the principal's bucket"
    s.set({})  # back to the start-up rate
    # GCRA keeps a bucket's state as a time: the last grant at 0.5/s put it up to one old
    # interval (2 s) ahead, which the new rate does not shorten.
    time.sleep(2.1)
    for _ in range(20):
        s.observe.GetShortTermMemory(request, timeout=10)


def test_access_log_level_flag_turns_the_access_log_on_and_off(binaries, tmp_path):
    s = FlaggedServer(binaries, tmp_path, {"access_log_level": "off"})
    s.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(node_id="before"), timeout=10)
    s.set({"access_log_level": "error"})  # at or above the test servers' --log-level warning
    s.predict.GetPerceptData(predict_pb2.GetPerceptDataRequest(node_id="after"), timeout=10)
    s.set({"access_log_level": "off"})
    s.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(node_id="after-off"), timeout=10)
    time.sleep(0.3)  # the log writer is buffered
    _, err = s.stop()
    assert "GetPerceptData" in err, err[-2000:]
    assert "GetShortTermMemory" not in err and "ClearShortTermMemory" not in err


def test_degradation_level_flag_forces_essential_then_back_to_normal(flagged):
    s = flagged()
    learn_pattern(s, "deg", "d1", "d2")
    s.set({"degradation_level": "essential"})
    with pytest.raises(grpc.RpcError) as e:
        learn_pattern(s, "deg", "d3", "d4")
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and status_details(e.value)[0].reason == "CIRCUIT_OPEN"
    s.observe.Observe(observe_pb2.ObserveRequest(node_id="deg", strings=["still"]), timeout=10)  # reads go on
    assert metric(s.admin, "kato_degradation_level") == 2
    with grpc.insecure_channel(s.address) as ch:
        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service="kato.v2.ObserveService"), timeout=5)
        assert status.status == health_pb2.HealthCheckResponse.NOT_SERVING
    s.set({"degradation_level": "normal"})
    s.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(node_id="deg"), timeout=10)
    assert learn_pattern(s, "deg", "d5", "d6").startswith("PTRN|")
    assert metric(s.admin, "kato_degradation_level") == 0


def test_maintenance_flag_serves_only_health_until_switched_off(flagged):
    s = flagged()
    s.set({"maintenance": True}, via="watch")
    with pytest.raises(grpc.RpcError) as e:
        s.observe.Observe(observe_pb2.ObserveRequest(node_id="m", strings=["x"]), timeout=10)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE and "maintenance mode" in e.value.details()
    assert ready_status(s.admin) == 503
    assert metric(s.admin, "kato_feature_enabled", '{feature="maintenance"}') == 1
    with grpc.insecure_channel(s.address) as ch:
        health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=5)  # answers
    s.set({"maintenance": False}, via="watch")
    s.observe.Observe(observe_pb2.ObserveRequest(node_id="m", strings=["x"]), timeout=10)
    assert ready_status(s.admin) == 200


# ------------------------------------------------------------------ reloads

@pytest.mark.parametrize("raw, where, what", [
    ('{"flags": {\n  "v2_sessions": false,\n  "auto_lern": true\n}}', "line 3, column 3", "unknown flag 'auto_lern'"),
    ('{"flags": {\n  "v2_sessions": false,\n  "predictions": "no"\n}}', "line 3, column 3", "must be true or false"),
    ('{"flags": {\n  "v2_sessions": false,\n  "rate_limit_session_rate": -1\n}}', "line 3, column 3", "must be 0"),
    ('{"flags": {\n  "v2_sessions": false,\n  "degradation_level": "panic"\n}}', "line 3, column 3", "degradation_level"),
    ('{"flags": {"v2_sessions": false,', "line 1", "invalid JSON"),
])
def test_an_invalid_flags_file_is_refused_whole_with_its_position_and_counted(binaries, tmp_path, raw, where, what):
    s = FlaggedServer(binaries, tmp_path, {"predictions": True})
    s.set(None, raw=raw, expect_refused=True)
    # Refused whole: v2_sessions, valid in the same file, did not change.
    s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="refused"), timeout=10)
    assert metric(s.admin, "kato_feature_enabled", '{feature="v2_sessions"}') == 1
    assert metric(s.admin, "kato_flags_reload_failures_total") == 1
    _, err = s.stop()
    line = next(l for l in err.splitlines() if "feature flags refused" in l)
    assert where in line and what in line and str(s.path) in line, line


def test_a_changed_file_is_noticed_within_two_seconds_without_a_signal(flagged):
    s = flagged()
    took = s.set({"v2_sessions": False}, via="watch")
    assert took < 2.0, f"noticed after {took:.2f}s"
    feature_disabled(lambda: s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="w"), timeout=10), "v2_sessions")


def test_every_change_is_logged_old_to_new(binaries, tmp_path):
    s = FlaggedServer(binaries, tmp_path, {}, "--log-level", "notice")
    s.set({"predictions": False, "rate_limit_session_rate": 7})
    _, err = s.stop()
    changes = [l for l in err.splitlines() if "feature flag changed" in l]
    assert any("flag=predictions" in l and "old=true" in l and "new=false" in l for l in changes), changes
    assert any("flag=rate_limit_session_rate" in l and "new=7.0" in l for l in changes), changes


def test_feature_gauges_are_registered_up_front(flagged):
    s = flagged({"emotives": False})
    page = metrics(s.admin)
    for f in FEATURES:
        assert f'kato_feature_enabled{{feature="{f}"}}' in page, f
    assert metric(s.admin, "kato_feature_enabled", '{feature="emotives"}') == 0
    assert metric(s.admin, "kato_flags_reload_failures_total") == 0


def test_calls_and_subscriptions_span_flag_changes_without_a_failure(flagged):
    s = flagged()
    stream = s.predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(node_id="span", send_initial=True), timeout=60)
    next(stream)
    stop = threading.Event()
    failures, done = [], [0]

    def load():
        with grpc.insecure_channel(s.address) as ch:
            stub = observe_pb2_grpc.ObserveServiceStub(ch)
            while not stop.is_set():
                try:
                    stub.Observe(observe_pb2.ObserveRequest(node_id="span", strings=["s"]), timeout=10)
                    done[0] += 1
                except grpc.RpcError as e:
                    failures.append(e)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for i in range(6):
        s.set({"v2_sessions": i % 2 == 1, "predictions": i % 2 == 1, "rate_limit_session_rate": 1e6 + i})
    stop.set()
    for t in threads:
        t.join()
    assert failures == [] and done[0] > 0
    s.observe.Observe(observe_pb2.ObserveRequest(node_id="span", strings=["last"]), timeout=10)
    assert next(stream).sequence > 0  # the subscription is still open
    stream.cancel()


def test_yaml_flags_section(binaries, tmp_path):
    path = tmp_path / "kato.yaml"
    path.write_text("log_level: warning\nflags:\n  v2_sessions: false\n  access_log_level: 'off'\n")
    server = start_kato_server(binaries, "--config", str(path))
    try:
        with grpc.insecure_channel(server.address) as ch:
            stub = session_pb2_grpc.SessionServiceStub(ch)
            feature_disabled(lambda: stub.CreateSession(session_pb2.CreateSessionRequest(node_id="y"), timeout=10), "v2_sessions")
    finally:
        server.stop()


def test_check_config_validates_flags(binaries, tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"flags": {"predictions": False}}))
    out = subprocess.run([str(binaries / "kato-server"), "--check-config", "--config", str(good)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "feature flags off: predictions" in out.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('{"flags": {\n  "predictions": 3\n}}')
    out = subprocess.run([str(binaries / "kato-server"), "--check-config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode != 0
    assert "line 2, column 3" in out.stderr and "predictions" in out.stderr, out.stderr
