"""Fault injection (test-only `--enable-test-faults`): the store fails operations at random.

Every call either succeeds with correct data or fails with a status carrying ErrorInfo and a trace
id; the circuit breaker and the degradation levels show in gRPC health and /health/ready; when the
faults stop, the server recovers fully.
"""
import collections
import json
import threading
import time
import urllib.request

import grpc

from kato_client._pb.google.rpc import error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, types_pb2
from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc

from conftest import start_kato_server

OBSERVE_SERVICE = "kato.v2.ObserveService"


def error_info(err):
    raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert raw is not None, f"silent failure: {err.code()} {err.details()} without details"
    status = status_pb2.Status.FromString(raw)
    for d in status.details:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
            assert len(info.metadata["trace_id"]) == 32
            return info
    raise AssertionError("no ErrorInfo")


def ready(admin):
    try:
        with urllib.request.urlopen(f"http://{admin}/health/ready", timeout=5) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        return json.loads(e.read())


def metric(admin, name):
    """The value of an unlabelled metric on /metrics (Prometheus text format)."""
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise AssertionError(f"{name} not on /metrics")


def wait_for(predicate, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def test_random_store_faults_are_never_silent_and_the_server_recovers(binaries, tmp_path):
    control = tmp_path / "fault-rate"
    control.write_text("0.1")
    server = start_kato_server(
        binaries, "--data-dir", str(tmp_path / "data"), "--enable-test-faults", "--store-breaker-reset-seconds", "1",
        env={"KATO_TEST_STORE_FAULT_RATE": "0.1", "KATO_TEST_STORE_FAULT_CONTROL": str(control)})
    admin = server.admin()
    try:
        ch = grpc.insecure_channel(server.address)
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
        predict = predict_pb2_grpc.PredictServiceStub(ch)
        health = health_pb2_grpc.HealthStub(ch)
        sessions = session_pb2_grpc.SessionServiceStub(ch)

        acked = collections.Counter()
        reasons = collections.Counter()
        levels = set()
        lock = threading.Lock()
        stop = threading.Event()

        def learn_loop(seed):
            i = 0
            while not stop.is_set():
                events = [f"x{seed}", f"y{i % 5}"]
                i += 1
                try:
                    r = observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
                        node_id="faults", learn_at_end=True,
                        observations=[types_pb2.Observation(strings=[s]) for s in events]), timeout=30)
                    with lock:
                        acked[r.final_learned_pattern] += 1
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.UNAVAILABLE, (e.code(), e.details())
                    info = error_info(e)
                    with lock:
                        reasons[info.reason] += 1

        def watch_levels():
            while not stop.is_set():
                if admin:
                    levels.add(ready(admin).get("degradation_level"))
                time.sleep(0.02)

        threads = [threading.Thread(target=learn_loop, args=(k,)) for k in range(4)]
        threads.append(threading.Thread(target=watch_levels))
        for t in threads:
            t.start()
        time.sleep(3)  # 10 % faults

        # A burst of total failure opens the breaker: ESSENTIAL, ObserveService NOT_SERVING.
        control.write_text("1.0")
        wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(service=OBSERVE_SERVICE)).status
                 == health_pb2.HealthCheckResponse.NOT_SERVING)
        assert health.Check(health_pb2.HealthCheckRequest(service="kato.v2.PredictService")).status \
            == health_pb2.HealthCheckResponse.SERVING
        if admin:
            r = ready(admin)
            assert r["degradation_level"] == "ESSENTIAL" and r["checks"]["circuit_breaker"] in ("open", "half_open"), r
            assert metric(admin, "kato_degradation_level") == 2
            assert metric(admin, "kato_circuit_breaker_state") in (1, 2)
        # While open: explicit learns are refused with CIRCUIT_OPEN; auto-learn is skipped and says so.
        sid = sessions.CreateSession(session_pb2.CreateSessionRequest(
            node_id="faults", config=types_pb2.SessionConfig(max_pattern_length={"value": 2}))).session_id
        observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["p"]))
        auto = observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["q"]))
        assert auto.auto_learn_skipped and auto.auto_learned_pattern == ""
        try:
            observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["r"], emotives={"joy": 1.0}))
            raise AssertionError("emotives accepted while degraded")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE and error_info(e).reason == "DEGRADED"
        time.sleep(1.5)

        # Faults stop: half-open probe, closed, NORMAL again.
        control.write_text("0")
        wait_for(lambda: health.Check(health_pb2.HealthCheckRequest(service=OBSERVE_SERVICE)).status
                 == health_pb2.HealthCheckResponse.SERVING)
        if admin:
            wait_for(lambda: ready(admin)["degradation_level"] == "NORMAL")
            assert metric(admin, "kato_degradation_level") == 0
            assert metric(admin, "kato_circuit_breaker_state") == 0
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(timeout=15)

        assert reasons["DATABASE_ERROR"] > 0 and reasons["CIRCUIT_OPEN"] > 0, reasons
        if admin:
            assert {"NORMAL", "DEGRADED", "ESSENTIAL"} <= levels, levels
        # Full recovery: learns work, and every acknowledged learn is there with its frequency.
        r = observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
            node_id="faults", learn_at_end=True,
            observations=[types_pb2.Observation(strings=["after"]), types_pb2.Observation(strings=["faults"])]))
        acked[r.final_learned_pattern] += 1
        for name, n in acked.items():
            p = predict.GetPattern(predict_pb2.GetPatternRequest(node_id="faults", name=name))
            assert p.frequency == n, (name, n, p.frequency)
        ch.close()
    finally:
        assert server.stop() == 0
    # What memory held is exactly what is on disk.
    again = start_kato_server(binaries, "--data-dir", str(tmp_path / "data"))
    try:
        with grpc.insecure_channel(again.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            for name, n in acked.items():
                assert predict.GetPattern(predict_pb2.GetPatternRequest(node_id="faults", name=name)).frequency == n
    finally:
        again.stop()
    print(f"acknowledged {sum(acked.values())} learns; refused {dict(reasons)}; levels seen {sorted(levels)}")
