"""Helpers for the security, rate-limit and observability tests: key files, JWTs made with
the standard library (HS256) or openssl (RS256/ES256), status details, admin HTTP."""
import base64
import hashlib
import hmac
import json
import subprocess
import time
import urllib.error
import urllib.request

from kato_client._pb.google.rpc import error_details_pb2, status_pb2


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(sub="jwt-user", roles=("writer",), nodes=("n1",), aud="kato", iss="test-issuer", exp_in=300, **extra):
    now = int(time.time())
    c = {"sub": sub, "roles": list(roles), "nodes": list(nodes), "exp": now + exp_in, "iat": now}
    if aud is not None:
        c["aud"] = aud
    if iss is not None:
        c["iss"] = iss
    c.update(extra)
    return c


def jwt_hs256(secret: bytes, payload: dict, alg="HS256") -> str:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    sig = hmac.new(secret, signing_input, hashlib.sha256).digest()
    return f"{header}.{body}.{b64url(sig)}"


def jwt_openssl(private_key_path, payload: dict, alg: str) -> str:
    header = b64url(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64url(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    der = subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(private_key_path)],
                         input=signing_input, capture_output=True, check=True).stdout
    sig = der if alg == "RS256" else ecdsa_der_to_raw(der)
    return f"{header}.{body}.{b64url(sig)}"


def ecdsa_der_to_raw(der: bytes, size=32) -> bytes:
    """DER SEQUENCE { INTEGER r, INTEGER s } -> r || s (JWS form)."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7F)
    out = b""
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b"\x00")
        out += v.rjust(size, b"\x00")
        i += 2 + n
    return out


def make_keys(tmp_path, kind):
    """(private, public) PEM paths: kind 'rsa' or 'ec'."""
    priv, pub = tmp_path / f"{kind}.key", tmp_path / f"{kind}.pub"
    if kind == "rsa":
        subprocess.run(["openssl", "genrsa", "-out", str(priv), "2048"], check=True, capture_output=True)
    else:
        subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(priv)],
                       check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", str(priv), "-pubout", "-out", str(pub)], check=True, capture_output=True)
    return priv, pub


def status_details(err):
    """(ErrorInfo, RetryInfo or None) of a grpc.RpcError."""
    raw = dict(err.trailing_metadata()).get("grpc-status-details-bin")
    assert raw is not None, f"no grpc-status-details-bin on {err}"
    status = status_pb2.Status.FromString(raw)
    assert status.code == err.code().value[0]
    info = retry = None
    for d in status.details:
        if d.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            d.Unpack(info)
        if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
            retry = error_details_pb2.RetryInfo()
            d.Unpack(retry)
    assert info is not None and info.domain == "kato.v2"
    assert len(info.metadata["trace_id"]) == 32
    return info, retry


def admin_address(server):
    """HOST:PORT of the server's admin port."""
    return server.admin()


def http_get(server, path):
    """(status, content-type, body text) of GET http://admin/path."""
    url = f"http://{admin_address(server)}{path}"
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, r.headers.get("content-type"), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("content-type"), e.read().decode()


def metric(text, name, **labels):
    """The value of one Prometheus sample (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric_name = head.split("{", 1)[0]
        if metric_name != name:
            continue
        got = {}
        if "{" in head:
            inner = head[head.index("{") + 1:head.rindex("}")]
            for part in inner.split(","):
                if part:
                    k, v = part.split("=", 1)
                    got[k] = v.strip('"')
        if all(got.get(k) == str(v) for k, v in labels.items()):
            return float(value)
    return 0.0


# Every server of these tests keeps its knowledge base in memory (no shared ./data lock).
MEM = {"KATO_IN_MEMORY": "1"}
