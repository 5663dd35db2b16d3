"""kato-server settings: flags > KATO_* environment > --config file (JSON or flat YAML)."""
import subprocess

import grpc
import pytest

from conftest import ROOT, RunningServer


def run_server(binaries, tmp_path, *args, env=None):
    return RunningServer([str(binaries / "kato-server"), "--data-dir", str(tmp_path / "data"), *args], env=env)


def log_level_of(server):
    """Health Check works on every configuration; the log level shows in what the server logs."""
    with grpc.insecure_channel(server.address) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)


@pytest.mark.parametrize("name, text", [
    ("kato.yaml", "# comment\nport: 0\nlog_level: \"warning\"\n"),
    ("kato.json", '{"port": 0, "log_level": "warning"}'),
])
def test_config_file_sets_flags(binaries, tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    server = run_server(binaries, tmp_path, "--config", str(path))
    try:
        log_level_of(server)
        assert server.port > 0
    finally:
        server.stop()


def test_environment_overrides_the_file_and_flags_override_both(binaries, tmp_path):
    path = tmp_path / "kato.yaml"
    path.write_text("port: 1\n")  # a privileged port the file asks for, overridden below
    server = run_server(binaries, tmp_path, "--config", str(path), env={"KATO_PORT": "0"})
    try:
        assert server.port > 1
    finally:
        server.stop()
    server = run_server(binaries, tmp_path, "--config", str(path), "--port", "0", env={"KATO_PORT": "1"})
    try:
        assert server.port > 1
    finally:
        server.stop()


@pytest.mark.parametrize("text", ["port:\n  nested: 1\n", "just words\n"])
def test_nested_or_malformed_yaml_is_refused_with_the_line(binaries, tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    out = subprocess.run([str(binaries / "kato-server"), "--config", str(path), "--data-dir", str(tmp_path / "d")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert "line 1" in out.stderr or "line 2" in out.stderr


def test_shipped_samples_are_valid(binaries, tmp_path):
    for sample in ("kato.yaml", "kato.json"):
        server = run_server(binaries, tmp_path, "--config", str(ROOT / "docs/samples" / sample), "--port", "0",
                            "--admin-port", "0")
        try:
            log_level_of(server)
        finally:
            server.stop()


def test_check_config_validates_without_starting(binaries, tmp_path):
    data_dir = tmp_path / "never-created"
    r = subprocess.run([str(binaries / "kato-server"), "--check-config", "--port", "1", "--data-dir", str(data_dir)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert f"configuration is valid: gRPC 127.0.0.1:1, knowledge base data directory {data_dir}" in r.stdout
    assert not data_dir.exists()


@pytest.mark.parametrize("args, message", [
    (["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"], "--tls-cert /nonexistent/cert.pem cannot be read"),
    (["--postgres", "postgres://kato:pw-not-shown@db/kato?sslmode=bogus"], "sslmode=bogus is not one of"),
    (["--max-sessions", "0"], "max-sessions must be >= 1"),
    (["--auth-keys", "/nonexistent/keys.json"], "keys.json"),
])
def test_check_config_names_what_is_wrong(binaries, args, message):
    r = subprocess.run([str(binaries / "kato-server"), "--check-config", *args], capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert "pw-not-shown" not in r.stdout + r.stderr
