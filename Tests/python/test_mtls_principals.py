"""Mutual TLS: a verified client certificate authenticates the caller when the key file maps it
(by `cert_subject` or `cert_sha256`) to a principal with roles and nodes. Explicit credentials
(`authorization`, `x-api-key`) win over the certificate. Certificates are made by openssl."""
import json
import os
import signal
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import start_kato_server
from mtls_support import PKI
from security_support import MEM, status_details

CLIENTS = {
    # name: openssl subject
    "dashboard": "/O=Example Corp/OU=Monitoring/CN=dashboard",
    "ingest": "/O=Example Corp/CN=ingest-service",
    "ops": "/O=Example Corp/CN=ops, night shift",
    "nobody": "/O=Example Corp/CN=nobody",
}


def key_entries(pki):
    return [
        # RFC 4514 order, as `openssl x509 -noout -subject -nameopt RFC2253` prints it.
        {"principal": "dashboard", "cert_subject": "CN=dashboard,OU=Monitoring,O=Example Corp",
         "roles": ["reader"], "nodes": ["n1"]},
        # The fingerprint `openssl x509 -noout -fingerprint -sha256` prints.
        {"principal": "ingest", "cert_sha256": PKI.fingerprint(pki.certs["ingest"][0]),
         "roles": ["writer"], "nodes": ["n1"]},
        # OpenSSL's default one-line form (other order, spaces, a comma escaped by openssl).
        {"principal": "ops", "cert_subject": PKI.subject(pki.certs["ops"][0], rfc2253=False),
         "roles": ["admin"], "nodes": ["*"]},
        {"principal": "alice", "key": "alice-key-0001", "roles": ["writer"], "nodes": ["n1"]},
    ]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    pki = PKI(tmp_path_factory.mktemp("mtls"))
    pki.certs = {name: pki.issue(name, subject) for name, subject in CLIENTS.items()}
    return pki


@pytest.fixture(scope="module")
def server(binaries, pki):
    keyfile = pki.dir / "keys.json"
    keyfile.write_text(json.dumps(key_entries(pki)))
    server = start_kato_server(binaries, "--auth-keys", str(keyfile), "--tls-cert", str(pki.server_pem),
                               "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca),
                               "--log-level", "info", env=MEM)
    server.keyfile = keyfile
    yield server
    server.stop()


class Client:
    def __init__(self, server, pki, name):
        cert, key = pki.certs[name]
        creds = grpc.ssl_channel_credentials(root_certificates=pki.ca.read_bytes(), private_key=key.read_bytes(),
                                             certificate_chain=cert.read_bytes())
        self.channel = grpc.secure_channel(f"localhost:{server.port}", creds)
        self.sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(self.channel)

    def create(self, node="n1", metadata=()):
        return self.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node), metadata=metadata)

    def obs(self, sid, *strings, metadata=()):
        return self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=list(strings) or ["a"]),
                                    metadata=metadata)

    def get(self, sid):
        return self.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid))


@pytest.fixture
def client(server, pki):
    made = []

    def make(name):
        c = Client(server, pki, name)
        made.append(c)
        return c
    yield make
    for c in made:
        c.channel.close()


def fails(code, reason, fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    assert e.value.code() == code, e.value
    info, _ = status_details(e.value)
    assert info.reason == reason, (info.reason, e.value.details())
    return e.value


def test_certificate_mapped_by_fingerprint_gets_its_roles_and_nodes(client):
    ingest = client("ingest")
    sid = ingest.create("n1").session_id
    assert ingest.obs(sid, "x", "y").stm_length == 1
    fails(grpc.StatusCode.PERMISSION_DENIED, "NODE_NOT_ALLOWED", ingest.create, "n2")


def test_certificate_mapped_by_subject_is_a_reader(client):
    ingest, dashboard = client("ingest"), client("dashboard")
    sid = ingest.create("n1").session_id
    ingest.obs(sid, "seen")
    # The reader may read the writer's session, not write it nor create one.
    assert dashboard.get(sid).stm_length == 1
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", dashboard.obs, sid)
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", dashboard.create, "n1")


def test_subject_in_openssl_default_form_maps_too(client):
    ops = client("ops")
    # admin of every node: may create anywhere and write the ingest service's session.
    assert ops.create("any-node").session_id
    sid = client("ingest").create("n1").session_id
    assert ops.obs(sid, "by-admin").stm_length == 1


def test_unmapped_certificate_is_unauthenticated(client):
    nobody = client("nobody")
    fails(grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_UNKNOWN", nobody.create, "n1")
    fails(grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_UNKNOWN", nobody.get, "session-x")


def test_explicit_credentials_win_over_the_certificate(client):
    nobody, dashboard = client("nobody"), client("dashboard")
    alice = (("authorization", "Bearer alice-key-0001"),)
    # An unmapped certificate with a valid key: the key's principal (a writer).
    sid = nobody.create("n1", metadata=alice).session_id
    # A reader's certificate with a writer's key acts as the writer...
    assert dashboard.obs(sid, "by-alice", metadata=alice).stm_length == 1
    # ...and a bad key fails even on a connection with a mapped certificate (no fallback).
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID", dashboard.create, "n1",
          metadata=(("x-api-key", "wrong"),))
    # Sessions belong to the principal, whatever credential it used: ingest may not write alice's.
    fails(grpc.StatusCode.PERMISSION_DENIED, "SESSION_NOT_OWNED", client("ingest").obs, sid)


def test_reload_adds_a_certificate_mapping(server, pki, client):
    nobody = client("nobody")
    fails(grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_UNKNOWN", nobody.create, "n1")
    entries = key_entries(pki) + [
        {"principal": "nobody", "cert_subject": PKI.subject(pki.certs["nobody"][0]), "roles": ["writer"], "nodes": ["n1"]},
    ]
    server.keyfile.write_text(json.dumps(entries))
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.time() + 30
    while True:  # the same connection: the mapping is looked up per call
        try:
            sid = nobody.create("n1").session_id
            break
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED and time.time() < deadline, e
            time.sleep(0.1)
    assert nobody.obs(sid, "after-reload").stm_length == 1
    server.keyfile.write_text(json.dumps(key_entries(pki)))
    os.kill(server.proc.pid, signal.SIGHUP)
    deadline = time.time() + 30
    while True:
        try:
            nobody.create("n1")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.UNAUTHENTICATED
            break
        assert time.time() < deadline, "mapping still in force after it was removed"
        time.sleep(0.1)


def test_key_file_with_a_bad_certificate_entry_is_refused(binaries, pki, tmp_path):
    keyfile = tmp_path / "bad.json"
    keyfile.write_text(json.dumps([{"principal": "x", "cert_sha256": "12:34", "roles": ["reader"]}]))
    with pytest.raises(RuntimeError, match="cert_sha256"):
        start_kato_server(binaries, "--auth-keys", str(keyfile), env=MEM)
    keyfile.write_text(json.dumps([{"principal": "x", "cert_subject": "CN=a", "key": "k"}]))
    with pytest.raises(RuntimeError, match="exactly one of"):
        start_kato_server(binaries, "--auth-keys", str(keyfile), env=MEM)


def test_unmapped_certificate_failure_logs_its_subject_and_fingerprint(binaries, pki):
    # The operator learns from the log how to map the certificate (cert_subject / cert_sha256).
    keyfile = pki.dir / "keys-log.json"
    keyfile.write_text(json.dumps(key_entries(pki)))
    server = start_kato_server(binaries, "--auth-keys", str(keyfile), "--tls-cert", str(pki.server_pem),
                               "--tls-key", str(pki.server_key), "--tls-client-ca", str(pki.ca),
                               "--log-level", "info", "--access-log-level", "off", env=MEM)
    try:
        nobody = Client(server, pki, "nobody")
        fails(grpc.StatusCode.UNAUTHENTICATED, "CERTIFICATE_UNKNOWN", nobody.create, "n1")
        nobody.channel.close()
    finally:
        server.stop()
    lines = [l for l in server.stderr_text().splitlines() if "authentication failed" in l]
    assert lines, "no authentication-failure line"
    fingerprint = PKI.fingerprint(pki.certs["nobody"][0]).replace(":", "").lower()
    assert f"certificate_sha256={fingerprint}" in lines[0]
    assert f"certificate_subject={PKI.subject(pki.certs['nobody'][0])}" in lines[0]
    assert "reason=CERTIFICATE_UNKNOWN" in lines[0]
