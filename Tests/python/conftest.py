"""Fixtures that run real servers (built by `swift build`) on free loopback ports."""
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
sys.path.insert(0, str(ROOT / "Tests" / "python"))

import asan_support  # noqa: E402  (needs the path above)

asan_support.configure_environment()


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def unavailable(reason):
    """A part a test needs (a server, a tool) is missing or will not start. Under CI=true that
    fails the run; elsewhere the test skips and says why."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: a component that will not start fails the run)")
    pytest.skip(reason)


def bin_dir() -> pathlib.Path:
    env = os.environ.get("KATO_BIN_DIR")
    if env:
        return pathlib.Path(env)
    out = subprocess.run(["swift", "build", "--show-bin-path"], cwd=ROOT, capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


class RunningServer:
    """A server process started with --port 0; `address` is HOST:PORT from its first line."""

    # Every server a test started, with the test that started it: the session's end stops any
    # still running and names that test, so a forgotten stop() never leaves a process behind.
    # Held strongly: a server whose object was dropped without stop() is exactly the one to find.
    started = []

    def __init__(self, args, env=None):
        self.args = args
        self.started_by = os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            env={**os.environ, **(env or {})})
        RunningServer.started.append(self)
        deadline = time.time() + 30
        line = ""
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith("listening on "):
                break
            if self.proc.poll() is not None:
                report = asan_support.report_for(self.proc.pid) or ""
                raise RuntimeError(f"{args[0]} exited: {self.proc.stderr.read()}{report}")
        else:
            raise RuntimeError(f"{args[0]} did not report its address")
        self.address = line.split("listening on ", 1)[1].strip()
        self.port = int(self.address.rsplit(":", 1)[1])
        self._admin = None

    def admin(self):
        """HOST:PORT of the admin port: the line after the address (`admin listening on …`)."""
        if self._admin is None:
            line = self.proc.stdout.readline()
            assert line.startswith("admin listening on "), line
            self._admin = line.split("admin listening on ", 1)[1].strip()
        return self._admin

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        report = asan_support.report_for(self.proc.pid)
        if report:
            raise AssertionError(f"{self.args[0]} (pid {self.proc.pid}) wrote a sanitizer report:\n{report}")
        return self.proc.returncode

    def stderr_text(self):
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


@pytest.fixture(scope="session")
def binaries():
    return bin_dir()


def start_echo_server(binaries, *extra):
    return RunningServer([
        str(binaries / "grpch2-echo-server"), "--port", "0",
        "--descriptors", str(ROOT / "Tests/EchoProtoC/echo-descriptors.pb"),
        "--descriptors", str(ROOT / "proto/descriptors.pb"), *extra])


def start_tls_echo_server(binaries, directory):
    """An echo server with a certificate from `make_pki(directory)`, and a client TLS context for
    raw HTTP/2 to it (ALPN h2)."""
    import ssl
    from grpch2_support import make_pki
    make_pki(directory)
    server = start_echo_server(binaries, "--tls-cert", str(directory / "server.pem"),
                               "--tls-key", str(directory / "server.key"))
    tls = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    tls.set_alpn_protocols(["h2"])
    return server, tls


def start_kato_server(binaries, *extra, env=None):
    """A kato-server on a free port. Unless the caller passes --data-dir (or --in-memory), it gets a
    fresh temporary data directory, so servers never share (or lock each other out of) ./data."""
    if "--data-dir" not in extra and "--in-memory" not in extra:
        extra = ("--data-dir", tempfile.mkdtemp(prefix="kato-data-"), *extra)
    return RunningServer([str(binaries / "kato-server"), "--port", "0", "--log-level", "warning", *extra], env=env)


@pytest.fixture(scope="module")
def echo_server(binaries):
    server = start_echo_server(binaries)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def pg():
    """A PostgreSQL server of the test module's own, in a temporary directory (pg_support)."""
    from pg_support import PostgresServer
    server = PostgresServer()
    yield server
    server.destroy()


@pytest.fixture(scope="module")
def kato_server(binaries):
    server = start_kato_server(binaries)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_sanitizer_reports():
    """Fails the test during which a process wrote an AddressSanitizer/LeakSanitizer report."""
    yield
    found = asan_support.unclaimed_reports()
    if found:
        pytest.fail(asan_support.format_reports(found), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    for server in RunningServer.started:
        if server.proc.poll() is None:
            print(f"\n{server.args[0]} (pid {server.proc.pid}) was left running by {server.started_by}; stopping it",
                  file=sys.stderr)
            server.proc.kill()
            server.proc.wait()
    found = asan_support.unclaimed_reports()
    if found:
        print("\n" + asan_support.format_reports(found), file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    asan_support.cleanup()
