"""A real PostgreSQL 15 server for tests, on a free loopback port in a temporary directory.

PostgreSQL refuses to run as root: as root the server runs as the `postgres` user (Debian's
package creates it) from a directory chowned to it, outside the clone; as anyone else it runs
as that user. Nothing needs a service manager. Under CI=true a server that will not start fails
the run (conftest.unavailable)."""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import unavailable

PG_BIN = pathlib.Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "kato"
PASSWORD = "kato-test-password"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        if not (PG_BIN / "initdb").exists():
            unavailable("PostgreSQL 15 is not installed (Debian postgresql-15; scripts/install-deps --python)")
        self.as_root = os.geteuid() == 0
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="kato-pg-"))
        self.data = self.dir / "data"
        self.socket_dir = self.dir / "socket"
        self.socket_dir.mkdir()
        self.log = self.dir / "postgres.log"
        self.port = _free_port()
        pwfile = self.dir / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self.as_root:
            shutil.chown(self.dir, "postgres", "postgres")
            for p in (self.socket_dir, pwfile):
                shutil.chown(p, "postgres", "postgres")
            os.chmod(self.dir, 0o700)
        r = self._run([PG_BIN / "initdb", "-D", self.data, "-U", SUPERUSER, "--pwfile", pwfile,
                       "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"])
        if r.returncode != 0:
            unavailable(f"initdb failed: {r.stderr[-2000:]}")
        self.start()
        r = self.psql("CREATE DATABASE kato", database="postgres")
        assert r.returncode == 0, r.stderr

    def _run(self, args, **kw):
        args = [str(a) for a in args]
        if self.as_root:
            args = ["runuser", "-u", "postgres", "--"] + args
        return subprocess.run(args, capture_output=True, text=True, timeout=120, **kw)

    def start(self):
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=100"
        r = self._run([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.log, "-o", options, "-w", "-t", "60", "start"])
        if r.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            unavailable(f"PostgreSQL did not start: {r.stderr[-1000:]} {log[-2000:]}")

    def stop(self, mode="fast"):
        self._run([PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop"])

    def psql(self, sql, database="kato"):
        return self._run([PG_BIN.parent / "bin" / "psql", "-h", self.socket_dir, "-p", self.port, "-U", SUPERUSER,
                          "-d", database, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql])

    def url(self, user=SUPERUSER, password=PASSWORD, database="kato"):
        return f"postgres://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def destroy(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for_port(port, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")
