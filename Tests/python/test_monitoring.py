"""The alert rules (deploy/prometheus) and the dashboard (deploy/grafana) checked against the real
thing: promtool's rule checks and unit tests, every metric they name present on a live
kato-server's /metrics, every panel query evaluated by a live Prometheus scraping a live
kato-server, and one alert driven to firing end to end by injected store faults."""
import json
import pathlib
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import ROOT, start_kato_server, unavailable

RULES = ROOT / "deploy" / "prometheus" / "kato-alerts.yml"
RULE_TESTS = ROOT / "deploy" / "prometheus" / "kato-alerts.test.yml"
PROMETHEUS_CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
DASHBOARD = ROOT / "deploy" / "grafana" / "kato-dashboard.json"
METRIC_NAME = re.compile(r"\b((?:kato|grpc_server)_[a-z0-9_]+)\b")


def tool(name):
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian package prometheus; scripts/install-deps --python)")
    return path


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def alert_names():
    return re.findall(r"^\s*- alert: (\w+)$", RULES.read_text(), re.M)


def panel_targets():
    """(panel title, expression) for every query of the dashboard."""
    dashboard = json.loads(DASHBOARD.read_text())
    return [(p["title"], t["expr"]) for p in dashboard["panels"] for t in p["targets"]]


def substitute(expr):
    """Grafana's variables as a live dashboard would fill them (all instances of job kato)."""
    return expr.replace("$__rate_interval", "1m").replace('"$job"', '"kato"').replace('"$instance"', '".*"')


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    """A real Prometheus on loopback scraping one kato-server every second, with kato's rules."""

    def __init__(self, target):
        binary = tool("prometheus")
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="kato-prometheus-"))
        config = self.dir / "prometheus.yml"
        config.write_text(json.dumps({  # JSON is YAML
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [{"job_name": "kato", "static_configs": [{"targets": [target]}]}],
        }))
        self.address = f"127.0.0.1:{free_port()}"
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={self.dir / 'data'}",
             f"--web.listen-address={self.address}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=open(self.dir / "prometheus.log", "w"))
        self.wait_until(lambda: self.query("up") and self.query('up{job="kato"} == 1'), 30, "Prometheus scraping kato")

    def api(self, path, **params):
        url = f"http://{self.address}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                body = json.loads(r.read())
        except (urllib.error.URLError, ConnectionError):
            if self.proc.poll() is not None:
                raise AssertionError("prometheus exited: " + (self.dir / "prometheus.log").read_text())
            return None
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr):
        data = self.api("query", query=expr)
        return None if data is None else data["result"]

    def firing(self, alertname):
        data = self.api("alerts")
        return [a for a in (data or {}).get("alerts", []) if a["labels"]["alertname"] == alertname and a["state"] == "firing"]

    @staticmethod
    def wait_until(predicate, timeout, what):
        deadline = time.time() + timeout
        while time.time() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def start_stack(binaries, tmp_path, fault_control):
    fault_control.write_text("0")
    server = start_kato_server(
        binaries, "--data-dir", str(tmp_path / "data"), "--enable-test-faults", "--store-breaker-reset-seconds", "1",
        env={"KATO_TEST_STORE_FAULT_CONTROL": str(fault_control)})
    admin = server.admin()
    return server, admin, Prometheus(admin)


class Client:
    def __init__(self, address):
        self.channel = grpc.insecure_channel(address)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)

    def learn_one(self, sid, i):
        """Observes two events and learns them; returns the status code of the Learn."""
        for s in (f"a{i}", f"b{i}"):
            self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[s]))
        try:
            self.observe.Learn(observe_pb2.LearnRequest(session_id=sid))
            return grpc.StatusCode.OK
        except grpc.RpcError as e:
            self.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
            return e.code()


# ---------------------------------------------------------------- promtool

def test_alert_rules_pass_promtool_check():
    r = run([tool("promtool"), "check", "rules", str(RULES)])
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"SUCCESS: {len(alert_names())} rules found" in r.stdout


def test_prometheus_example_config_is_valid():
    r = run([tool("promtool"), "check", "config", str(PROMETHEUS_CONFIG)])
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_alert_has_promtool_unit_tests_quiet_and_firing_and_they_pass():
    text = RULE_TESTS.read_text()
    for name in alert_names():
        blocks = re.findall(rf"alertname: {name}\n\s+exp_alerts:(.*?)(?=\n\s+- eval_time:|\n  - name:|\Z)", text, re.S)
        assert any(b.strip() == "[]" for b in blocks), f"{name}: no test that it stays quiet"
        assert any("exp_labels" in b for b in blocks), f"{name}: no test that it fires"
    r = run([tool("promtool"), "test", "rules", str(RULE_TESTS)])
    assert r.returncode == 0, r.stdout + r.stderr


# ---------------------------------------------------------------- against live servers

@pytest.fixture(scope="module")
def stack(binaries, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitoring")
    control = tmp / "fault-rate"
    server, admin, prometheus = start_stack(binaries, tmp, control)
    client = Client(server.address)
    subscriptions = []
    try:
        # A workload that gives every panel something to show: calls that succeed, a client
        # error (NotFound), a server-side error (a learn refused by an injected store fault),
        # committed learns, and an open prediction subscription.
        sid = client.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="monitoring")).session_id
        from kato_client._pb.kato.v2 import predict_pb2, predict_pb2_grpc
        subscriptions.append(predict_pb2_grpc.PredictServiceStub(client.channel).SubscribePredictions(
            predict_pb2.SubscribePredictionsRequest(session_id=sid)))
        with pytest.raises(grpc.RpcError):
            client.sessions.GetSession(session_pb2.GetSessionRequest(session_id="session-" + "0" * 32 + "-1"))
        control.write_text("1")
        time.sleep(0.3)  # the injector re-reads its control file every 100 ms
        assert client.learn_one(sid, 0) != grpc.StatusCode.OK
        control.write_text("0")
        time.sleep(1.5)  # the breaker (reset 1 s) lets writes through again
        assert all(client.learn_one(sid, i) == grpc.StatusCode.OK for i in range(1, 6))
        # A few scrapes after the workload: until every panel's query has series (a rate needs two
        # scrapes of a counter that appeared during the workload; a loaded Prometheus scrapes late),
        # at most a minute — the test below names any panel still empty. (The sleeps above are
        # lower bounds on time, which is all they need: the injector re-reads its file on the first
        # write >= 100 ms after its last read, and the breaker's reset is a time.)
        deadline = time.time() + 60
        while time.time() < deadline and not all(prometheus.query(substitute(expr)) for _, expr in panel_targets()):
            time.sleep(0.5)
        yield server, admin, prometheus
    finally:
        for s in subscriptions:
            s.cancel()
        client.channel.close()
        prometheus.stop()
        server.stop()


def test_every_metric_named_by_a_rule_or_panel_is_on_a_live_server(stack):
    _, admin, _ = stack
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        page = r.read().decode()
    exposed = {line.split("{")[0].split(" ")[0] for line in page.splitlines() if line and not line.startswith("#")}
    used = set(METRIC_NAME.findall(RULES.read_text()))
    for _, expr in panel_targets():
        used |= set(METRIC_NAME.findall(expr))
    assert used, "no metric names found in the rules and panels"
    # Exported only by a server that serves TLS: checked on one in test_tls_certificate_expiry.py.
    missing = sorted(used - exposed - {"kato_tls_certificate_expiry_seconds"})
    assert not missing, f"named by a rule or panel but not on /metrics: {missing}"


def test_every_dashboard_panel_query_returns_series_from_a_live_prometheus(stack):
    _, _, prometheus = stack
    empty = []
    for title, expr in panel_targets():
        result = prometheus.query(substitute(expr))
        assert result is not None, f"{title}: query failed: {expr}"
        if not result:
            empty.append(title)
    assert not empty, f"panels whose query returned no series: {empty}"


def test_dashboard_variables_resolve_on_a_live_prometheus(stack):
    _, _, prometheus = stack
    assert "kato" in prometheus.api("label/job/values", **{"match[]": "up"})
    assert prometheus.api("label/instance/values", **{"match[]": 'up{job="kato"}'})


def test_live_prometheus_loaded_every_alert_rule(stack):
    _, _, prometheus = stack
    groups = prometheus.api("rules")["groups"]
    loaded = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert loaded == set(alert_names())
    unhealthy = [r["name"] for g in groups for r in g["rules"] if r.get("health") not in ("ok", "unknown")]
    assert not unhealthy, unhealthy


def test_store_write_failures_alert_fires_within_a_minute_of_a_failed_learn(binaries, tmp_path):
    control = tmp_path / "fault-rate"
    server, _, prometheus = start_stack(binaries, tmp_path, control)
    client = Client(server.address)
    try:
        sid = client.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="alerting")).session_id
        assert client.learn_one(sid, 0) == grpc.StatusCode.OK
        time.sleep(2)
        assert not prometheus.firing("KatoStoreWriteFailures")
        control.write_text("1")
        time.sleep(0.3)
        failed_at = None
        for i in range(1, 50):
            if client.learn_one(sid, i) != grpc.StatusCode.OK:
                failed_at = time.time()
                break
        assert failed_at is not None, "no learn failed with faults at rate 1"
        alert = prometheus.wait_until(lambda: prometheus.firing("KatoStoreWriteFailures"), 60, "KatoStoreWriteFailures firing")
        assert time.time() - failed_at < 60
        assert alert[0]["labels"]["severity"] == "critical"
    finally:
        control.write_text("0")
        client.channel.close()
        prometheus.stop()
        server.stop()


def test_max_sessions_limits_creation_and_is_exposed_as_the_limit_gauge(binaries):
    server = start_kato_server(binaries, "--max-sessions", "2")
    admin = server.admin()
    client = Client(server.address)
    try:
        for _ in range(2):
            client.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="limited"))
        with pytest.raises(grpc.RpcError) as refused:
            client.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="limited"))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
            page = r.read().decode()
        assert "kato_sessions_limit 2.0" in page and "kato_sessions_active 2.0" in page
    finally:
        client.channel.close()
        server.stop()


def test_max_sessions_below_one_is_refused_at_startup(binaries):
    r = subprocess.run([str(binaries / "kato-server"), "--port", "0", "--in-memory", "--max-sessions", "0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0 and "max-sessions must be >= 1" in r.stderr
