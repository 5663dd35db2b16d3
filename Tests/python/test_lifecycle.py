"""Graceful shutdown of kato-server (its ServiceGroup): SIGTERM while calls and subscriptions are
open, observed through real clients (grpcio) and the admin port.

The order under test (docs/OPERATIONS.md): health NOT_SERVING (gRPC health and /health/ready)
and open subscriptions end with UNAVAILABLE `SERVER_DRAINING` → the pre-stop delay
(`--drain-delay`), during which new connections are still accepted → the listener closes,
GOAWAY → in-flight calls finish within `--shutdown-grace` → the store commits and closes → exit 0.
A slow disk (`KATO_TEST_STORE_COMMIT_DELAY_MS` with the test-only `--enable-test-faults`) holds a
Learn in flight across the signal.
"""
import json
import signal
import socket
import threading
import time
import urllib.error
import urllib.request

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, types_pb2

from conftest import start_kato_server
from security_support import metric, status_details

NODE = "lifecycle"


def ready_status(admin):
    try:
        with urllib.request.urlopen(f"http://{admin}/health/ready", timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def health(address, timeout=2):
    with grpc.insecure_channel(address) as ch:
        return health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout).status


def accepts_connections(address):
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


def calls_started(admin, method):
    """grpc_server_started_total of `method`: the server has taken the call (it is in flight)."""
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=10) as r:
        return metric(r.read().decode(), "grpc_server_started_total", grpc_method=method)


def wait_until(predicate, what, timeout=30):
    """Polls `predicate` until it holds; `timeout` is a budget for a loaded machine."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def observe(stub, *strings):
    stub.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=list(strings)), timeout=10)


def test_in_flight_learn_completes_during_sigterm_and_is_in_the_store_after_restart(binaries, tmp_path):
    data = str(tmp_path / "data")
    server = start_kato_server(
        binaries, "--data-dir", data, "--enable-test-faults", "--shutdown-grace", "10",
        env={"KATO_TEST_STORE_COMMIT_DELAY_MS": "1500"})
    admin = server.admin()
    with grpc.insecure_channel(server.address) as ch:
        stub = observe_pb2_grpc.ObserveServiceStub(ch)
        observe(stub, "drain-a")
        observe(stub, "drain-b")
        result = {}

        def learn():
            try:
                result["response"] = stub.Learn(observe_pb2.LearnRequest(node_id=NODE), timeout=20)
            except grpc.RpcError as e:
                result["error"] = e

        t = threading.Thread(target=learn)
        t.start()
        # The server has taken the learn (it then waits for its slow commit): a SIGTERM before that
        # would refuse a call the test means to be in flight.
        wait_until(lambda: calls_started(admin, "Learn") >= 1, "the server to take the Learn")
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        t.join(20)
    assert "error" not in result, f"the in-flight Learn failed: {result.get('error')}"
    name = result["response"].pattern_name
    assert name.startswith("PTRN|")
    assert server.proc.wait(timeout=15) == 0
    assert time.monotonic() - signalled < 10 + 2, "the process outlived its grace period"

    restarted = start_kato_server(binaries, "--data-dir", data)
    try:
        with grpc.insecure_channel(restarted.address) as ch:
            pattern = predict_pb2_grpc.PredictServiceStub(ch).GetPattern(
                predict_pb2.GetPatternRequest(node_id=NODE, name=name), timeout=10)
        assert pattern.name == name.removeprefix("PTRN|") or pattern.name == name
    finally:
        assert restarted.stop() == 0


def test_subscriber_gets_unavailable_server_draining_at_drain_start(binaries):
    # A long drain delay: the subscription must end at its start, not when the listener closes
    # (10 s, far from the bound below, so a loaded machine's slow signal handling cannot blur them).
    server = start_kato_server(binaries, "--drain-delay", "10")
    with grpc.insecure_channel(server.address) as ch:
        stream = predict_pb2_grpc.PredictServiceStub(ch).SubscribePredictions(
            predict_pb2.SubscribePredictionsRequest(node_id=NODE, send_initial=True), timeout=30)
        first = next(stream)  # subscribed
        assert first.sequence >= 0
        signalled = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        try:
            for _ in stream:
                pass
            raise AssertionError("the subscription ended without a status")
        except grpc.RpcError as e:
            ended = time.monotonic() - signalled
            assert e.code() == grpc.StatusCode.UNAVAILABLE, e
            assert "server draining" in e.details()
            info, _ = status_details(e)
            assert info.reason == "SERVER_DRAINING"
        assert ended < 5, f"the subscription ended {ended:.1f}s after SIGTERM, not at drain start"
        # A new subscription during the drain is refused the same way.
        try:
            next(predict_pb2_grpc.PredictServiceStub(ch).SubscribePredictions(
                predict_pb2.SubscribePredictionsRequest(node_id=NODE), timeout=10))
            raise AssertionError("a subscription was accepted during the drain")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAVAILABLE and "server draining" in e.details(), e
    assert server.proc.wait(timeout=30) == 0


def test_health_goes_not_serving_before_the_listener_closes(binaries):
    # The drain delay is the window for every check below: long enough for a loaded machine.
    server = start_kato_server(binaries, "--drain-delay", "8")
    admin = server.admin()
    assert health(server.address) == health_pb2.HealthCheckResponse.SERVING
    assert ready_status(admin) == 200
    server.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 6
    seen = None
    while time.monotonic() < deadline:
        try:
            # A new connection: the listener is still open during the drain delay.
            if health(server.address) == health_pb2.HealthCheckResponse.NOT_SERVING:
                seen = time.monotonic()
                break
        except grpc.RpcError:
            pass
        time.sleep(0.05)
    assert seen is not None, "gRPC health never said NOT_SERVING while the listener was open"
    assert ready_status(admin) == 503
    assert accepts_connections(server.address)
    # After the delay the listener closes and the process exits.
    assert server.proc.wait(timeout=30) == 0
    assert not accepts_connections(server.address)


def test_sigterm_with_nothing_in_flight_exits_zero_promptly(binaries):
    server = start_kato_server(binaries)
    started = time.monotonic()
    server.proc.send_signal(signal.SIGINT)
    assert server.proc.wait(timeout=30) == 0
    # Promptly: well before the 10 s grace period a call in flight would get (a loaded machine's margin).
    assert time.monotonic() - started < 8
    err = server.proc.stderr.read()
    assert "Fatal" not in err and "fatal" not in err, err


def test_drain_options_are_validated(binaries):
    import subprocess
    for flag, value in (("--drain-delay", "-1"), ("--shutdown-grace", "abc"), ("--drain-delay", "301")):
        out = subprocess.run([str(binaries / "kato-server"), "--check-config", flag, value], capture_output=True, text=True)
        assert out.returncode != 0 and flag.lstrip("-") in out.stderr, (flag, value, out.stderr)
