"""One kato-server process under soak: start, sample (RSS, fds, threads from /proc; gauges from
the admin /metrics; store size from the data directory), stop."""
import os
import pathlib
import re
import signal
import subprocess
import time
import urllib.request

from kato_client import KatoClient, TLSConfig

from grpch2_support import make_pki  # noqa: F401  (re-exported for soak.py)


class SoakServer:
    def __init__(self, name: str, bin_dir: pathlib.Path, data_dir: pathlib.Path, pki=None):
        self.name, self.data_dir, self.clients = name, data_dir, []
        data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(bin_dir / "kato-server"), "--port", "0", "--admin-port", "0", "--data-dir", str(data_dir),
                "--log-level", "error", "--access-log-level", "off", "--session-cleanup-seconds", "2"]
        self.client_tls = None
        if pki is not None:
            args += ["--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"])]
            self.client_tls = TLSConfig(ca_path=pki["ca_pem"], server_name="localhost")
        self.log = (data_dir.parent / f"{name}.stderr").open("w")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.address = self._line("listening on ")
        self.port = int(self.address.rsplit(":", 1)[1])
        self.admin = self._line("admin listening on ")
        self.baseline_fds = 0
        self.stopped = False

    def _line(self, prefix: str) -> str:
        deadline = time.time() + 60
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if line.startswith(prefix):
                return line[len(prefix):].strip()
            if self.proc.poll() is not None:
                raise RuntimeError(f"kato-server ({self.name}) exited: see {self.log.name}")
        raise RuntimeError(f"kato-server ({self.name}) did not print {prefix!r}")

    def warm_up(self):
        """One call of each kind the workload makes, then the fd baseline."""
        with KatoClient(self.address, tls=self.client_tls, timeout=30) as c:
            c.wait_ready(timeout=30)
            with c.session(f"soak-{self.name}-warmup", config={"max_pattern_length": 0}) as s:
                s.observe(strings=["warm", "up"])
                s.learn()
                s.predictions()
                sub = s.subscribe(send_initial=True, timeout=10)
                next(iter(sub))
                sub.close()
        time.sleep(1)
        self.baseline_fds = self.fds()

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def metrics(self) -> dict[str, float]:
        text = urllib.request.urlopen(f"http://{self.admin}/metrics", timeout=10).read().decode()
        sums: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)$", line)
            if m:
                sums[m.group(1)] = sums.get(m.group(1), 0.0) + float(m.group(2))
        return sums

    def sample(self) -> dict:
        status = pathlib.Path(f"/proc/{self.proc.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
        threads = int(re.search(r"Threads:\s+(\d+)", status).group(1))
        m = self.metrics()
        store = sum(p.stat().st_size for p in self.data_dir.iterdir() if p.is_file())
        return {"rss_kib": rss, "fds": self.fds(), "threads": threads,
                "calls_active": int(m.get("grpc_server_started_total", 0) - m.get("grpc_server_handled_total", 0)),
                "calls_started": int(m.get("grpc_server_started_total", 0)),
                "sessions_active": int(m.get("kato_sessions_active", 0)),
                "subscribers_active": int(m["kato_subscribers_active"]) if "kato_subscribers_active" in m else "",
                "store_bytes": store}

    def stop(self) -> list[str]:
        """SIGTERM; a non-zero exit is a failure (reported once)."""
        if self.stopped:
            return []
        self.stopped = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return [f"{self.name}: kato-server did not stop within 60 s of SIGTERM"]
        self.log.close()
        return [] if code == 0 else [f"{self.name}: kato-server exited {code}; see {self.log.name}"]
