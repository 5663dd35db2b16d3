"""The small version of the session load test (the full one is `make load`)."""
import json
import subprocess

from conftest import start_kato_server


def test_two_thousand_sessions_observe_concurrently_without_errors_or_leaks(binaries):
    server = start_kato_server(binaries)
    try:
        out = subprocess.run(
            [str(binaries / "kato-load"), "--port", str(server.port), "--sessions", "2000",
             "--observations", "5", "--connections", "4", "--concurrency", "400"],
            capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stdout + out.stderr
        result = json.loads(out.stdout.strip().splitlines()[-1])
        assert result["errors"] == 0 and result["leaks"] == 0
        assert result["observe_calls"] == 10_000
    finally:
        server.stop()
