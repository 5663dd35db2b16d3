"""Authentication and authorisation against a real kato-server: API keys (hashed and clear),
JWTs (HS256, RS256, ES256; exp/nbf/aud/iss), roles, nodes, session ownership, key reload on
SIGHUP, open health, and the startup rule for non-loopback addresses."""
import hashlib
import json
import os
import signal
import subprocess
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc
from kato_client._pb.kato.v2 import session_pb2, session_pb2_grpc

from conftest import RunningServer, start_kato_server
from security_support import MEM, claims, jwt_hs256, jwt_openssl, make_keys, status_details

SECRET = b"s" * 40
KEYS = {
    "alice": ("alice-key-0001", ["writer"], ["n1"]),
    "bob": ("bob-key-0002", ["writer"], ["n1"]),
    "rita": ("rita-key-0003", ["reader"], ["n1"]),
    "carol": ("carol-key-0004", ["writer"], ["n2"]),
    "root": ("root-key-0005", ["admin"], ["*"]),
}


def write_keys(path, keys):
    entries = []
    for i, (name, (key, roles, nodes)) in enumerate(keys.items()):
        e = {"principal": name, "roles": roles, "nodes": nodes}
        if i % 2 == 0:
            e["key_sha256"] = hashlib.sha256(key.encode()).hexdigest()
        else:
            e["key"] = key
        entries.append(e)
    path.write_text(json.dumps(entries))


@pytest.fixture(scope="module")
def setup(binaries, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("security")
    keyfile = tmp / "keys.json"
    write_keys(keyfile, KEYS)
    secret = tmp / "hs256.secret"
    secret.write_bytes(SECRET + b"\n")
    rsa_priv, rsa_pub = make_keys(tmp, "rsa")
    server = start_kato_server(
        binaries, "--auth-keys", str(keyfile), "--jwt-hs256-secret-file", str(secret),
        "--jwt-public-key", str(rsa_pub), "--jwt-audience", "kato", "--jwt-issuer", "test-issuer",
        "--log-level", "info", env=MEM)
    channel = grpc.insecure_channel(server.address)

    class Setup:
        pass
    s = Setup()
    s.server, s.channel, s.keyfile, s.rsa_priv, s.tmp = server, channel, keyfile, rsa_priv, tmp
    s.sessions = session_pb2_grpc.SessionServiceStub(channel)
    s.observe = observe_pb2_grpc.ObserveServiceStub(channel)
    s.predict = predict_pb2_grpc.PredictServiceStub(channel)
    yield s
    channel.close()
    server.stop()


def key(name):
    return (("authorization", "Bearer " + KEYS[name][0]),)


def bearer(token):
    return (("authorization", "Bearer " + token),)


def fails(code, reason, fn, *args, **kw):
    with pytest.raises(grpc.RpcError) as e:
        fn(*args, **kw)
    assert e.value.code() == code, e.value
    info, _ = status_details(e.value)
    assert info.reason == reason, (info.reason, e.value.details())
    return e.value


def create(s, who, node="n1"):
    return s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=node), metadata=key(who))


def obs(s, who, sid="", node="", *strings):
    req = observe_pb2.ObserveRequest(session_id=sid, node_id=node, strings=list(strings) or ["a"])
    return s.observe.Observe(req, metadata=key(who))


def test_missing_credentials_are_unauthenticated(setup):
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING",
          setup.sessions.CreateSession, session_pb2.CreateSessionRequest(node_id="n1"))


def test_unknown_keys_are_unauthenticated(setup):
    req = session_pb2.CreateSessionRequest(node_id="n1")
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID", setup.sessions.CreateSession, req,
          metadata=(("authorization", "Bearer nope"),))
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID", setup.sessions.CreateSession, req,
          metadata=(("x-api-key", "nope"),))
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID", setup.sessions.CreateSession, req,
          metadata=(("authorization", "Basic abc"),))


def test_x_api_key_and_hashed_keys_work(setup):
    # alice is stored as key_sha256, bob as a clear key (hashed on load).
    assert create(setup, "alice").session_id
    assert create(setup, "bob").session_id
    sid = setup.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1"),
                                       metadata=(("x-api-key", KEYS["alice"][0]),)).session_id
    assert sid.startswith("session-")


def test_health_is_open(setup):
    health = health_pb2_grpc.HealthStub(setup.channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == health_pb2.HealthCheckResponse.SERVING


def test_reader_cannot_create_or_write(setup):
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", create, setup, "rita")
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", obs, setup, "rita", "", "n1")


def test_session_ownership_across_principals(setup):
    sid = create(setup, "alice").session_id
    assert obs(setup, "alice", sid, "", "x", "y").stm_length == 1
    # Another writer of the same node may read, not write.
    err = fails(grpc.StatusCode.PERMISSION_DENIED, "SESSION_NOT_OWNED", obs, setup, "bob", sid)
    assert err.details()
    got = setup.sessions.GetSession(session_pb2.GetSessionRequest(session_id=sid), metadata=key("bob"))
    assert got.stm_length == 1
    setup.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid), metadata=key("rita"))
    fails(grpc.StatusCode.PERMISSION_DENIED, "SESSION_NOT_OWNED", setup.sessions.DeleteSession,
          session_pb2.DeleteSessionRequest(session_id=sid), metadata=key("bob"))
    fails(grpc.StatusCode.PERMISSION_DENIED, "SESSION_NOT_OWNED", setup.observe.Learn,
          observe_pb2.LearnRequest(session_id=sid), metadata=key("bob"))
    # A principal of another node sees nothing: NOT_FOUND, exactly like a missing session.
    fails(grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND", setup.sessions.GetSession,
          session_pb2.GetSessionRequest(session_id=sid), metadata=key("carol"))
    fails(grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND", setup.observe.GetShortTermMemory,
          observe_pb2.GetShortTermMemoryRequest(session_id=sid), metadata=key("carol"))
    # An admin may write any session.
    assert obs(setup, "root", sid, "", "z").stm_length == 2
    setup.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid), metadata=key("alice"))


def test_nodes_limit_principals(setup):
    fails(grpc.StatusCode.PERMISSION_DENIED, "NODE_NOT_ALLOWED", create, setup, "alice", "n2")
    assert create(setup, "carol", "n2").session_id
    assert create(setup, "root", "anything").session_id
    # Default sessions of a node: writers of that node may write them.
    assert obs(setup, "alice", "", "n1").status == "okay"
    assert obs(setup, "bob", "", "n1").status == "okay"
    fails(grpc.StatusCode.PERMISSION_DENIED, "NODE_NOT_ALLOWED", obs, setup, "alice", "", "n2")
    fails(grpc.StatusCode.PERMISSION_DENIED, "NODE_NOT_ALLOWED", setup.sessions.CountSessions,
          session_pb2.CountSessionsRequest(node_id="n2"), metadata=key("alice"))
    assert setup.sessions.CountSessions(session_pb2.CountSessionsRequest(), metadata=key("alice")).count >= 1


def test_clear_all_needs_admin(setup):
    req = observe_pb2.ClearAllMemoryRequest(node_id="n1")
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", setup.observe.ClearAllMemory, req, metadata=key("alice"))
    assert setup.observe.ClearAllMemory(req, metadata=key("root")).status == "cleared"


def test_hs256_jwt(setup):
    token = jwt_hs256(SECRET, claims(sub="jay", roles=["writer"], nodes=["n1"]))
    sid = setup.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1"), metadata=bearer(token)).session_id
    assert sid
    fails(grpc.StatusCode.PERMISSION_DENIED, "SESSION_NOT_OWNED", obs, setup, "alice", sid)
    req = observe_pb2.ObserveRequest(session_id=sid, strings=["a"])
    assert setup.observe.Observe(req, metadata=bearer(token)).status == "okay"


@pytest.mark.parametrize("payload,reason", [
    (dict(exp_in=-10), "TOKEN_EXPIRED"),
    (dict(nbf=int(time.time()) + 3600), "TOKEN_NOT_YET_VALID"),
    (dict(aud="someone-else"), "TOKEN_AUDIENCE"),
    (dict(aud=None), "TOKEN_AUDIENCE"),
    (dict(iss="evil"), "TOKEN_ISSUER"),
])
def test_jwt_claims_are_checked(setup, payload, reason):
    token = jwt_hs256(SECRET, claims(**payload))
    fails(grpc.StatusCode.UNAUTHENTICATED, reason, setup.sessions.CreateSession,
          session_pb2.CreateSessionRequest(node_id="n1"), metadata=bearer(token))


def test_jwt_forgeries_are_refused(setup):
    good = jwt_hs256(SECRET, claims())
    forged = jwt_hs256(b"x" * 40, claims(roles=["admin"], nodes=["*"]))
    h, p, sig = good.split(".")
    none_alg = jwt_hs256(SECRET, claims(), alg="none").rsplit(".", 1)[0] + "."
    req = session_pb2.CreateSessionRequest(node_id="n1")
    for token in [forged, f"{h}.{forged.split('.')[1]}.{sig}", none_alg]:
        fails(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID", setup.sessions.CreateSession, req, metadata=bearer(token))


def test_rs256_jwt(setup):
    token = jwt_openssl(setup.rsa_priv, claims(sub="rsa-user", roles=["reader"], nodes=["n1"]), "RS256")
    req = session_pb2.CountSessionsRequest(node_id="n1")
    assert setup.sessions.CountSessions(req, metadata=bearer(token)).count >= 0
    fails(grpc.StatusCode.PERMISSION_DENIED, "ROLE_REQUIRED", setup.sessions.CreateSession,
          session_pb2.CreateSessionRequest(node_id="n1"), metadata=bearer(token))
    # An HS256 token signed with the RSA public key (algorithm confusion) is refused.
    confused = jwt_hs256(open(str(setup.rsa_priv).replace(".key", ".pub"), "rb").read(), claims())
    fails(grpc.StatusCode.UNAUTHENTICATED, "TOKEN_INVALID", setup.sessions.CountSessions, req, metadata=bearer(confused))


def test_es256_jwt(binaries, tmp_path):
    priv, pub = make_keys(tmp_path, "ec")
    server = start_kato_server(binaries, "--jwt-public-key", str(pub), env=MEM)
    try:
        with grpc.insecure_channel(server.address) as ch:
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            token = jwt_openssl(priv, claims(sub="ec-user", aud=None, iss=None), "ES256")
            req = session_pb2.CreateSessionRequest(node_id="n1")
            assert sessions.CreateSession(req, metadata=bearer(token)).session_id
            fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING", sessions.CreateSession, req)
    finally:
        server.stop()


def test_keys_reload_on_sighup_without_dropping_connections(setup):
    s = setup
    sid = create(s, "alice").session_id
    # A subscription open across the reload keeps streaming.
    stream = s.predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=True),
                                            metadata=key("alice"))
    assert next(stream).sequence == 0
    keys = dict(KEYS)
    del keys["bob"]
    keys["dave"] = ("dave-key-0006", ["writer"], ["n1"])
    write_keys(s.keyfile, keys)
    os.kill(s.server.proc.pid, signal.SIGHUP)
    deadline = time.time() + 30
    while True:
        try:
            s.sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1"), metadata=(("authorization", "Bearer dave-key-0006"),))
            break
        except grpc.RpcError:
            assert time.time() < deadline, "new key not accepted after SIGHUP"
            time.sleep(0.1)
    fails(grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_INVALID", create, s, "bob")
    obs(s, "alice", sid, "", "after-reload")
    update = next(stream)
    assert update.sequence == 1 and list(update.stm[0].symbols) == ["after-reload"]
    stream.cancel()
    # A broken key file keeps the previous keys.
    s.keyfile.write_text("{ not json")
    os.kill(s.server.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    assert create(s, "alice").session_id
    write_keys(s.keyfile, KEYS)
    os.kill(s.server.proc.pid, signal.SIGHUP)


def test_keys_never_logged(setup):
    # Run last in this module: stops the server to read its whole log.
    setup.server.stop()
    log = setup.server.proc.stderr.read()
    assert "authentication is on" in log
    for k, _, _ in KEYS.values():
        assert k not in log
    assert SECRET.decode() not in log


def test_loopback_without_keys_runs_without_auth(binaries):
    server = RunningServer([str(binaries / "kato-server"), "--port", "0", "--log-level", "info"], env=MEM)
    try:
        with grpc.insecure_channel(server.address) as ch:
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            assert sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="n1")).session_id
    finally:
        server.stop()
    assert "authentication is off" in server.proc.stderr.read()


def test_non_loopback_without_keys_refuses_to_start(binaries):
    proc = subprocess.run([str(binaries / "kato-server"), "--host", "0.0.0.0", "--port", "0"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **MEM})
    assert proc.returncode != 0
    assert "allow-unauthenticated" in proc.stderr
    server = RunningServer([str(binaries / "kato-server"), "--host", "0.0.0.0", "--port", "0", "--allow-unauthenticated"], env=MEM)
    server.stop()
