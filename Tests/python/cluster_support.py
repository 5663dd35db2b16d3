"""A kato cluster for tests: a real PostgreSQL 15 (pg_support), three kato-server replicas sharing
it (--postgres) and a real HAProxy 2.6 in front, configured by the shipped deploy/haproxy.cfg.
Under CI=true a missing or failing HAProxy fails the run (conftest.unavailable)."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

from conftest import ROOT, RunningServer, start_kato_server, unavailable
from pg_support import PostgresServer

HAPROXY_CFG = ROOT / "deploy" / "haproxy.cfg"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(admin, name):
    """The sum of every sample of metric `name` on a replica's /metrics page."""
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        page = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in page.splitlines()
               if line.startswith(name + "{") or line.startswith(name + " "))


class Cluster:
    def __init__(self, binaries, replicas=3, extra=()):
        if shutil.which("haproxy") is None:
            unavailable("HAProxy is not installed (Debian haproxy; scripts/install-deps --python)")
        self.pg = PostgresServer()
        self.replicas = []
        self.haproxy = None
        try:
            for _ in range(replicas):
                server = start_kato_server(binaries, "--in-memory", "--postgres", self.pg.url(), "--admin-port", "0", *extra)
                server.admin()  # read its admin line now
                self.replicas.append(server)
            self.port = free_port()
            env = {**os.environ, "KATO_LB_BIND": f"127.0.0.1:{self.port}"}
            for i, r in enumerate(self.replicas, 1):
                env[f"KATO_R{i}"] = r.address
                env[f"KATO_R{i}_ADMIN_PORT"] = r.admin().rsplit(":", 1)[1]
            self.log = tempfile.NamedTemporaryFile(prefix="kato-haproxy-", suffix=".log", delete=False)
            self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(HAPROXY_CFG)], env=env,
                                            stdout=self.log, stderr=subprocess.STDOUT)
            self.address = f"127.0.0.1:{self.port}"
            self._wait_until_all_up()
        except BaseException:
            self.destroy()
            raise

    def _wait_until_all_up(self):
        """HAProxy listens and has sent a call to every replica: each is in the rotation (its health
        check passed), observed rather than assumed after a fixed time (three check intervals were
        not always enough on a loaded machine, and the first test's calls then missed a replica)."""
        import grpc
        from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc
        deadline = time.time() + 60
        channel = None
        try:
            while time.time() < deadline:
                if self.haproxy.poll() is not None:  # installed but refused our configuration: a failure
                    raise AssertionError(f"HAProxy exited: {open(self.log.name).read()[-2000:]}")
                if channel is None:
                    with socket.socket() as s:
                        if s.connect_ex(("127.0.0.1", self.port)) == 0:
                            channel = grpc.insecure_channel(self.address)
                if channel is not None:
                    if all(metric(r.admin(), "grpc_server_handled_total") > 0 for r in self.replicas):
                        return
                    try:  # round-robin: calls reach every replica HAProxy holds up
                        session_pb2_grpc.SessionServiceStub(channel).CountSessions(
                            session_pb2.CountSessionsRequest(), timeout=5)
                    except grpc.RpcError:
                        pass
                time.sleep(0.1)
        finally:
            if channel is not None:
                channel.close()
        raise AssertionError(f"HAProxy did not listen, or did not send calls to every replica, within 60 s: {self.handled()}")

    def restart(self, i, timeout=60, abort=lambda: False):
        """A rolling restart's step for replica `i`: SIGTERM (the server drains: NOT_SERVING, the
        pre-stop delay, GOAWAY, in-flight calls finish), wait for its exit, start it again on the
        same gRPC and admin ports (HAProxy's server lines name them), and return once HAProxy
        sends it calls again (or `abort()` says the load failed). Returns the old process's exit
        status."""
        old = self.replicas[i]
        admin_port = old.admin().rsplit(":", 1)[1]
        old.proc.send_signal(signal.SIGTERM)
        status = old.proc.wait(timeout=timeout)
        args = list(old.args)
        args[args.index("--port") + 1] = str(old.port)
        args[args.index("--admin-port") + 1] = admin_port
        new = RunningServer(args)
        new.admin()
        self.replicas[i] = new
        deadline = time.time() + timeout
        # Back in rotation: HAProxy's next health check (inter 500ms, rise 1) found it ready
        # and it has handled a call of the load.
        while metric(new.admin(), "grpc_server_handled_total") == 0 and not abort():
            assert time.time() < deadline, "HAProxy never sent calls to the restarted replica"
            time.sleep(0.05)
        return status

    def handled(self):
        """gRPC calls each replica handled so far."""
        return [metric(r.admin(), "grpc_server_handled_total") for r in self.replicas]

    def destroy(self):
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for r in self.replicas:
            r.stop()
        self.pg.destroy()
