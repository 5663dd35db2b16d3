"""The Swift client example (clients/swift/Example.swift) runs against a real server."""
import subprocess


def test_swift_client_example_runs_end_to_end(binaries, kato_server):
    out = subprocess.run([str(binaries / "kato-client-example"), kato_server.address],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "server health: serving" in out.stdout
    assert "learned PTRN|" in out.stdout
    assert "best prediction:" in out.stdout and 'future [["again"]]' in out.stdout
    assert "reason=SESSION_NOT_FOUND" in out.stdout
