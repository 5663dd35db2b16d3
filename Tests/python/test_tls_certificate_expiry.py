"""`kato_tls_certificate_expiry_seconds` from the certificate a TLS server serves (the leaf's
notAfter), against a certificate made here with a known lifetime; absent without TLS."""
import re
import subprocess
import time
import urllib.request

from conftest import start_kato_server, unavailable


def expiry(admin):
    with urllib.request.urlopen(f"http://{admin}/metrics", timeout=5) as r:
        m = re.search(r"^kato_tls_certificate_expiry_seconds\s+(\S+)$", r.read().decode(), re.M)
    return float(m.group(1)) if m else None


def test_certificate_expiry_seconds_follows_the_served_certificate(binaries, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(key), "-out", str(cert), "-days", "10", "-subj", "/CN=localhost"],
                       check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        unavailable(f"openssl cannot make a certificate: {e}")
    server = start_kato_server(binaries, "--tls-cert", str(cert), "--tls-key", str(key))
    try:
        value = expiry(server.admin())
        assert value is not None, "kato_tls_certificate_expiry_seconds is not exported by a TLS server"
        assert 10 * 86400 - 120 < value <= 10 * 86400, value
        time.sleep(1.1)
        assert expiry(server.admin()) < value  # recomputed at each scrape
    finally:
        server.stop()


def test_no_certificate_expiry_without_tls(binaries):
    server = start_kato_server(binaries)
    try:
        assert expiry(server.admin()) is None
    finally:
        server.stop()
