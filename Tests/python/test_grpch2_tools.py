"""GRPCH2's health and reflection services against the stock clients: grpcio-health-checking,
grpcio-reflection's descriptor database, and the grpcurl binary (reflection only, no protos)."""
import json
import pathlib
import queue
import subprocess

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from conftest import ROOT
from grpch2_support import ECHO, wait_ready

GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"
HEALTH = "grpc.health.v1.Health"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
SERVICES = {ECHO, HEALTH, REFLECTION_V1, REFLECTION_V1ALPHA}
Serving = health_pb2.HealthCheckResponse


@pytest.fixture(scope="module")
def channel(echo_server):
    ch = grpc.insecure_channel(echo_server.address)
    wait_ready(ch)
    yield ch
    ch.close()


# MARK: health

@pytest.mark.parametrize("service", ["", *sorted(SERVICES)])
def test_health_check_reports_serving_for_the_server_and_each_service(channel, service):
    reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert reply.status == Serving.SERVING


def test_health_check_of_an_unknown_service_is_not_found(channel):
    with pytest.raises(grpc.RpcError) as e:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="no.Such"), timeout=5)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_health_watch_streams_the_current_status_and_stays_open(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=ECHO), timeout=1)
    assert next(call).status == Serving.SERVING
    with pytest.raises(grpc.RpcError) as e:
        next(call)  # no change: the stream stays open until the deadline
    assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_health_watch_of_an_unknown_service_says_service_unknown(channel):
    call = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service="no.Such"), timeout=5)
    assert next(call).status == Serving.SERVICE_UNKNOWN
    call.cancel()


# MARK: reflection

def test_reflection_descriptor_database_resolves_the_echo_service(channel):
    db = ProtoReflectionDescriptorDatabase(channel)
    assert SERVICES <= set(db.get_services())
    pool = descriptor_pool.DescriptorPool(db)
    service = pool.FindServiceByName(ECHO)
    methods = {m.name: m for m in service.methods}
    assert set(methods) == {"Unary", "ServerStream", "ClientStream", "BidiStream"}
    assert methods["ServerStream"].server_streaming and not methods["ServerStream"].client_streaming
    assert methods["BidiStream"].client_streaming and methods["BidiStream"].server_streaming
    assert methods["Unary"].input_type.full_name == "grpch2.test.EchoRequest"
    request = pool.FindMessageTypeByName("grpch2.test.EchoRequest")
    assert [f.name for f in request.fields] == ["message", "payload", "count", "delay_ms", "fail_code", "fail_message"]
    assert pool.FindMessageTypeByName("grpch2.test.EchoResponse").fields_by_name["index"].number == 3


def test_reflection_resolves_health_and_methods_by_symbol(channel):
    pool = descriptor_pool.DescriptorPool(ProtoReflectionDescriptorDatabase(channel))
    assert pool.FindMethodByName(f"{ECHO}.Unary").output_type.full_name == "grpch2.test.EchoResponse"
    health = pool.FindServiceByName(HEALTH)
    assert {m.name for m in health.methods} == {"Check", "Watch"}
    status_enum = pool.FindEnumTypeByName("grpc.health.v1.HealthCheckResponse.ServingStatus")
    assert "SERVING" in status_enum.values_by_name


def _reflect(channel, path, requests):
    call = channel.stream_stream(path, request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)
    return list(call(iter(requests), timeout=5))


@pytest.mark.parametrize("service", [REFLECTION_V1, REFLECTION_V1ALPHA])
def test_reflection_lists_services_on_v1_and_v1alpha(channel, service):
    [reply] = _reflect(channel, f"/{service}/ServerReflectionInfo",
                       [reflection_pb2.ServerReflectionRequest(list_services="")])
    assert {s.name for s in reply.list_services_response.service} == SERVICES
    assert reply.original_request.list_services == ""


@pytest.mark.parametrize("service", [REFLECTION_V1, REFLECTION_V1ALPHA])
def test_reflection_answers_several_requests_on_one_stream_in_order(channel, service):
    R = reflection_pb2.ServerReflectionRequest
    replies = _reflect(channel, f"/{service}/ServerReflectionInfo", [
        R(file_containing_symbol=ECHO), R(file_containing_symbol="no.such.Symbol"),
        R(file_by_filename="grpch2/test/echo.proto"), R(list_services="")])
    assert [r.WhichOneof("message_response") for r in replies] == [
        "file_descriptor_response", "error_response", "file_descriptor_response", "list_services_response"]
    assert replies[1].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


def test_reflection_stream_stays_usable_while_the_client_keeps_it_open(channel):
    outbox: queue.Queue = queue.Queue()
    call = channel.stream_stream(f"/{REFLECTION_V1}/ServerReflectionInfo",
                                 request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
                                 response_deserializer=reflection_pb2.ServerReflectionResponse.FromString)(
        iter(outbox.get, None), timeout=5)
    for _ in range(3):
        outbox.put(reflection_pb2.ServerReflectionRequest(list_services=""))
        assert next(call).HasField("list_services_response")
    outbox.put(None)
    assert list(call) == []


# MARK: grpcurl (reflection only, no proto files)

def grpcurl(server, *args, data=None, flags=()):
    cmd = [str(GRPCURL), "-plaintext", "-max-time", "10", *flags]
    if data is not None:
        cmd += ["-d", json.dumps(data)]
    cmd += [server.address, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def test_grpcurl_lists_services(echo_server):
    r = grpcurl(echo_server, "list")
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == SERVICES


def test_grpcurl_lists_methods_of_a_service(echo_server):
    r = grpcurl(echo_server, "list", ECHO)
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.split()) == {f"{ECHO}.{m}" for m in ("Unary", "ServerStream", "ClientStream", "BidiStream")}


def test_grpcurl_describes_the_echo_service_and_a_message(echo_server):
    r = grpcurl(echo_server, "describe", ECHO)
    assert r.returncode == 0, r.stderr
    assert "rpc ServerStream ( .grpch2.test.EchoRequest ) returns ( stream .grpch2.test.EchoResponse );" in r.stdout
    assert "rpc BidiStream ( stream .grpch2.test.EchoRequest ) returns ( stream .grpch2.test.EchoResponse );" in r.stdout
    r = grpcurl(echo_server, "describe", "grpch2.test.EchoRequest")
    assert r.returncode == 0, r.stderr
    assert "int32 delay_ms = 4;" in r.stdout


def test_grpcurl_unary_call_through_reflection(echo_server):
    r = grpcurl(echo_server, f"{ECHO}/Unary", data={"message": "via grpcurl", "payload": "AAEC"})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"message": "via grpcurl", "payload": "AAEC"}


def test_grpcurl_server_streaming_call_through_reflection(echo_server):
    r = grpcurl(echo_server, f"{ECHO}/ServerStream", data={"message": "s", "count": 3})
    assert r.returncode == 0, r.stderr
    replies = [json.loads(part) for part in r.stdout.replace("}\n{", "}\x00{").split("\x00")]
    assert [x.get("index", 0) for x in replies] == [0, 1, 2]


def test_grpcurl_sends_and_echoes_metadata(echo_server):
    r = grpcurl(echo_server, f"{ECHO}/Unary", data={}, flags=("-v", "-H", "echo-who: grpcurl"))
    assert r.returncode == 0, r.stderr
    assert "echo-who: grpcurl" in r.stdout
    assert "trailer-echo-who: grpcurl" in r.stdout


def test_grpcurl_error_status_exit_code_is_64_plus_the_code(echo_server):
    # grpcurl 1.8 exits with 64 + the gRPC status code when the call fails (statusCodeOffset
    # in its main.go) and prints Code/Message on stderr.
    r = grpcurl(echo_server, f"{ECHO}/Unary", data={"failCode": 5, "failMessage": "no such thing"})
    assert r.returncode == 64 + 5, (r.returncode, r.stderr)
    assert "Code: NotFound" in r.stderr and "Message: no such thing" in r.stderr


def test_grpcurl_unknown_method_fails_before_calling(echo_server):
    # The method is resolved through reflection first: unknown names never reach the server.
    r = grpcurl(echo_server, f"{ECHO}/Nope", data={})
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "Nope" in r.stderr


def test_grpcurl_health_check(echo_server):
    r = grpcurl(echo_server, f"{HEALTH}/Check", data={"service": ECHO})
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"status": "SERVING"}


def test_grpcurl_describe_unknown_symbol_fails(echo_server):
    r = grpcurl(echo_server, "describe", "no.such.Thing")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert pathlib.Path(GRPCURL).exists()
