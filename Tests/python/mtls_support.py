"""Certificates for the mutual-TLS principal tests, made by openssl: one CA, a server certificate
for localhost/127.0.0.1, and client certificates with chosen subjects signed by the CA."""
import pathlib
import subprocess


def _openssl(*args, cwd):
    return subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


class PKI:
    def __init__(self, directory: pathlib.Path):
        self.dir = directory
        (directory / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        (directory / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                 "-subj", "/CN=kato mtls test ca", "-keyout", "ca.key", "-out", "ca.pem", cwd=directory)
        self.ca = directory / "ca.pem"
        self.server_pem, self.server_key = self.issue("server", "/CN=localhost", "server.ext")

    def issue(self, name: str, subject: str, ext="client.ext"):
        """(certificate, key) paths of a new certificate for `subject` (openssl's /K=V/... form)."""
        _openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", subject,
                 "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=self.dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                 "-days", "2", "-extfile", ext, "-out", f"{name}.pem", cwd=self.dir)
        return self.dir / f"{name}.pem", self.dir / f"{name}.key"

    @staticmethod
    def fingerprint(pem: pathlib.Path) -> str:
        """`AB:CD:…`, as `openssl x509 -fingerprint -sha256` prints it."""
        out = _openssl("x509", "-in", str(pem), "-noout", "-fingerprint", "-sha256", cwd=pem.parent)
        return out.strip().split("=", 1)[1]

    @staticmethod
    def subject(pem: pathlib.Path, rfc2253=True) -> str:
        """The subject as openssl prints it: RFC 2253/4514 form, or its default one-line form."""
        args = ["x509", "-in", str(pem), "-noout", "-subject"] + (["-nameopt", "RFC2253"] if rfc2253 else [])
        return _openssl(*args, cwd=pem.parent).strip().split("=", 1)[1].strip()
