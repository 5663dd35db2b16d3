"""GRPCH2 over TLS and mutual TLS with grpcio secure channels (certificates made by openssl)."""
import grpc
import pytest

from conftest import start_echo_server
from echo_pb.grpch2.test import echo_pb2
from grpch2_support import echo_stub, make_pki

Req = echo_pb2.EchoRequest


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_server(binaries, pki):
    server = start_echo_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mtls_server(binaries, pki):
    server = start_echo_server(binaries, "--tls-cert", str(pki["server_pem"]), "--tls-key", str(pki["server_key"]),
                               "--tls-client-ca", str(pki["ca_pem"]))
    yield server
    server.stop()


def credentials(pki, client=None):
    root = pki["ca_pem"].read_bytes()
    if client is None:
        return grpc.ssl_channel_credentials(root_certificates=root)
    return grpc.ssl_channel_credentials(root_certificates=root, private_key=pki[f"{client}_key"].read_bytes(),
                                        certificate_chain=pki[f"{client}_pem"].read_bytes())


def localhost(server):
    return f"localhost:{server.port}"


def test_tls_unary_and_streaming_calls_work_with_the_ca_as_root(tls_server, pki):
    with grpc.secure_channel(localhost(tls_server), credentials(pki)) as ch:
        stub = echo_stub(ch)
        assert stub.Unary(Req(message="secure"), timeout=10).message == "secure"
        assert [r.index for r in stub.ServerStream(Req(count=5), timeout=10)] == list(range(5))
        assert stub.ClientStream(iter([Req(message="a"), Req(message="b")]), timeout=10).message == "a,b"
        big = b"t" * (2 * 1024 * 1024)
        assert stub.Unary(Req(payload=big), timeout=20).payload == big


def test_tls_certificate_is_valid_for_the_ip_address_too(tls_server, pki):
    with grpc.secure_channel(tls_server.address, credentials(pki)) as ch:
        assert echo_stub(ch).Unary(Req(message="ip"), timeout=10).message == "ip"


def test_tls_server_rejects_a_client_that_does_not_trust_its_certificate(tls_server, pki):
    untrusted = grpc.ssl_channel_credentials(root_certificates=pki["other-ca_pem"].read_bytes())
    with grpc.secure_channel(localhost(tls_server), untrusted) as ch:
        with pytest.raises(grpc.RpcError) as e:
            echo_stub(ch).Unary(Req(), timeout=30)  # a handshake on a loaded machine: UNAVAILABLE, never a deadline
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_client_cannot_talk_to_a_tls_server(tls_server):
    with grpc.insecure_channel(tls_server.address) as ch:
        with pytest.raises(grpc.RpcError) as e:
            echo_stub(ch).Unary(Req(), timeout=3)
        assert e.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def test_tls_server_keeps_serving_after_failed_handshakes(tls_server, pki):
    with grpc.insecure_channel(tls_server.address) as ch:
        with pytest.raises(grpc.RpcError):
            echo_stub(ch).Unary(Req(), timeout=2)
    with grpc.secure_channel(localhost(tls_server), credentials(pki)) as ch:
        assert echo_stub(ch).Unary(Req(message="still"), timeout=10).message == "still"


def test_mtls_accepts_a_client_certificate_signed_by_the_ca(mtls_server, pki):
    with grpc.secure_channel(localhost(mtls_server), credentials(pki, client="client")) as ch:
        stub = echo_stub(ch)
        assert stub.Unary(Req(message="mutual"), timeout=10).message == "mutual"
        assert len(list(stub.BidiStream(iter([Req()] * 3), timeout=10))) == 3


def test_mtls_rejects_a_client_without_a_certificate(mtls_server, pki):
    with grpc.secure_channel(localhost(mtls_server), credentials(pki)) as ch:
        with pytest.raises(grpc.RpcError) as e:
            echo_stub(ch).Unary(Req(), timeout=30)  # a handshake on a loaded machine: UNAVAILABLE, never a deadline
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_mtls_rejects_a_client_certificate_from_another_ca(mtls_server, pki):
    with grpc.secure_channel(localhost(mtls_server), credentials(pki, client="stranger")) as ch:
        with pytest.raises(grpc.RpcError) as e:
            echo_stub(ch).Unary(Req(), timeout=30)  # a handshake on a loaded machine: UNAVAILABLE, never a deadline
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE
