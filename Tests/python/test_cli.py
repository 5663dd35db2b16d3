"""The `kato` CLI's grpcurl-style commands (list, describe, call) against real servers, through
server reflection only: every command runs from an empty directory with no proto files.
`list` and `describe` print exactly what grpcurl prints; `call` prints JSON equal to grpcurl's
after parsing; exit codes are grpcurl's (64 + the gRPC status code)."""
import json
import os
import subprocess
import time

import pytest

from conftest import ROOT
from grpch2_support import ECHO

GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"
HEALTH = "grpc.health.v1.Health"


@pytest.fixture(scope="module")
def empty_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("no-protos")


@pytest.fixture(scope="module")
def kato(binaries, empty_dir):
    def run(server, *args, input=None, env=None, timeout=30):
        cmd = [str(binaries / "kato"), *args]
        if server is not None:
            cmd[2:2] = ["--server", server.address]
        return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, cwd=empty_dir,
                              env={**os.environ, **(env or {})})
    return run


def grpcurl(server, *args, data=None, flags=()):
    cmd = [str(GRPCURL), "-plaintext", "-max-time", "10", *flags]
    if data is not None:
        cmd += ["-d", data if isinstance(data, str) else json.dumps(data)]
    return subprocess.run([*cmd, server.address, *args], capture_output=True, text=True, timeout=30)


def json_stream(text):
    """Every JSON value in `text` (responses are printed one after another)."""
    decoder, values, i = json.JSONDecoder(), [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        value, i = decoder.raw_decode(text, i)
        values.append(value)
    return values


def symbols_of(server):
    """Every service, method, message and enum reachable from the server's services."""
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
    import grpc
    with grpc.insecure_channel(server.address) as channel:
        db = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(db)
        out, files, seen = set(), [], set()

        def message(m):
            out.add(m.full_name)
            for n in m.nested_types:
                message(n)
            out.update(e.full_name for e in m.enum_types)

        for name in db.get_services():
            service = pool.FindServiceByName(name)
            out.add(name)
            out.update(m.full_name for m in service.methods)
            files.append(service.file)
        while files:
            f = files.pop()
            if f.name in seen:
                continue
            seen.add(f.name)
            files.extend(f.dependencies)
            for m in f.message_types_by_name.values():
                message(m)
            out.update(e.full_name for e in f.enum_types_by_name.values())
        return sorted(out)


# MARK: list and describe equal grpcurl's output

@pytest.mark.parametrize("server_name", ["echo_server", "kato_server"])
def test_list_prints_what_grpcurl_prints(request, kato, server_name):
    server = request.getfixturevalue(server_name)
    ours, theirs = kato(server, "list"), grpcurl(server, "list")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


@pytest.mark.parametrize("server_name,service", [
    ("echo_server", ECHO), ("echo_server", HEALTH), ("kato_server", "kato.v2.ObserveService"),
    ("kato_server", "kato.v2.SessionService"), ("kato_server", "grpc.reflection.v1.ServerReflection")])
def test_list_methods_of_a_service_prints_what_grpcurl_prints(request, kato, server_name, service):
    server = request.getfixturevalue(server_name)
    ours, theirs = kato(server, "list", service), grpcurl(server, "list", service)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout and ours.stdout


@pytest.mark.parametrize("server_name", ["echo_server", "kato_server"])
def test_describe_of_every_symbol_prints_what_grpcurl_prints(request, kato, server_name):
    server = request.getfixturevalue(server_name)
    symbols = symbols_of(server)
    assert len(symbols) > 30
    for symbol in symbols:
        ours, theirs = kato(server, "describe", symbol), grpcurl(server, "describe", symbol)
        assert ours.returncode == theirs.returncode == 0, (symbol, ours.stderr, theirs.stderr)
        assert ours.stdout == theirs.stdout, symbol


@pytest.mark.parametrize("server_name", ["echo_server", "kato_server"])
def test_describe_without_a_symbol_describes_every_service_like_grpcurl(request, kato, server_name):
    server = request.getfixturevalue(server_name)
    ours, theirs = kato(server, "describe"), grpcurl(server, "describe")
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_describe_prints_doc_comments_and_map_entries(kato, kato_server):
    r = kato(kato_server, "describe", "kato.v2.ObserveRequest")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("kato.v2.ObserveRequest is a message:\nmessage ObserveRequest {\n")
    assert "  // Used only when session_id is empty (default session of the node).\n  string node_id = 2;" in r.stdout
    assert "  map<string, .google.protobuf.Value> metadata = 6;" in r.stdout
    r = kato(kato_server, "describe", "kato.v2.ObserveRequest.EmotivesEntry")
    assert r.stdout == "kato.v2.ObserveRequest.EmotivesEntry is the entry type for a map field:\nmap<string, double> emotives = 5;\n"


def test_describe_unknown_symbol_fails_with_exit_1(kato, echo_server):
    r = kato(echo_server, "describe", "no.such.Thing")
    assert r.returncode == 1, r
    assert "no.such.Thing" in r.stderr


def test_list_unknown_service_fails_with_exit_1(kato, echo_server):
    r = kato(echo_server, "list", "no.such.Service")
    assert r.returncode == 1 and "no.such.Service" in r.stderr


# MARK: call, every call kind, compared with grpcurl

def test_unary_call_output_equals_grpcurls(kato, echo_server):
    data = json.dumps({"message": "via kato", "payload": "AAEC", "count": 1})
    ours, theirs = kato(echo_server, "call", f"{ECHO}/Unary", "-d", data), grpcurl(echo_server, f"{ECHO}/Unary", data=data)
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == json.loads(theirs.stdout) == {"message": "via kato", "payload": "AAEC"}


def test_method_may_be_named_with_a_dot_and_proto_field_names_are_accepted(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}.Unary", "-d", '{"message": "dot", "fail_message": ""}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"message": "dot"}


def test_output_is_grpcurl_formatted_json(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}/Unary", "-d", '{"message": "x", "payload": "AQ=="}')
    assert r.stdout == '{\n  "message": "x",\n  "payload": "AQ=="\n}\n'


def test_unary_call_without_data_sends_an_empty_message(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}/Unary")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {}


def test_server_streaming_call_prints_every_response_like_grpcurl(kato, echo_server):
    data = json.dumps({"message": "s", "count": 4})
    ours = kato(echo_server, "call", f"{ECHO}/ServerStream", "-d", data)
    theirs = grpcurl(echo_server, f"{ECHO}/ServerStream", data=data)
    assert ours.returncode == 0, ours.stderr
    assert json_stream(ours.stdout) == json_stream(theirs.stdout)
    assert [x.get("index", 0) for x in json_stream(ours.stdout)] == [0, 1, 2, 3]


def test_server_streaming_responses_print_as_they_arrive(binaries, echo_server, empty_dir):
    proc = subprocess.Popen([str(binaries / "kato"), "call", "--server", echo_server.address, f"{ECHO}/ServerStream",
                             "-d", json.dumps({"message": "slow", "count": 3, "delayMs": 700})],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=empty_dir)
    try:
        start = time.monotonic()
        first = proc.stdout.readline()
        assert first == "{\n"
        # The first response arrives before the stream ends (the server sleeps between them).
        assert proc.poll() is None
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - start >= 0.5
    finally:
        proc.kill()


def test_client_streaming_call_takes_json_lines_like_grpcurl(kato, echo_server):
    data = "\n".join(json.dumps({"message": m}) for m in ("a", "b", "c"))
    ours = kato(echo_server, "call", f"{ECHO}/ClientStream", "-d", data)
    theirs = grpcurl(echo_server, f"{ECHO}/ClientStream", data=data)
    assert ours.returncode == 0, ours.stderr
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)


def test_bidi_streaming_call_with_concatenated_objects_equals_grpcurls(kato, echo_server):
    data = '{"message": "one"} {"message": "two", "payload": "Ag=="}{"message": "three"}'
    ours = kato(echo_server, "call", f"{ECHO}/BidiStream", "-d", data)
    theirs = grpcurl(echo_server, f"{ECHO}/BidiStream", data=data)
    assert ours.returncode == 0, ours.stderr
    assert json_stream(ours.stdout) == json_stream(theirs.stdout)
    assert [x["message"] for x in json_stream(ours.stdout)] == ["one", "two", "three"]


def test_bidi_streaming_from_stdin_answers_each_line_before_stdin_ends(binaries, echo_server, empty_dir):
    proc = subprocess.Popen([str(binaries / "kato"), "call", "--server", echo_server.address, f"{ECHO}/BidiStream", "-d", "@-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=empty_dir)
    try:
        for i, word in enumerate(("ping", "pong")):
            proc.stdin.write(json.dumps({"message": word}) + "\n")
            proc.stdin.flush()
            lines = [proc.stdout.readline()]
            while lines[-1] not in ("}\n", ""):
                lines.append(proc.stdout.readline())
            assert json.loads("".join(lines)).get("message") == word
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()


def test_request_data_from_a_file_and_from_stdin(kato, echo_server, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text('{"message": "f1"}\n{"message": "f2"}\n')
    r = kato(echo_server, "call", f"{ECHO}/ClientStream", "-d", f"@{path}")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(grpcurl(echo_server, f"{ECHO}/ClientStream", data=path.read_text()).stdout)
    r = kato(echo_server, "call", f"{ECHO}/Unary", "-d", "@-", input='{"message": "stdin"}')
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"message": "stdin"}


def test_health_check_through_reflection_equals_grpcurls(kato, echo_server):
    data = json.dumps({"service": ECHO})
    ours = kato(echo_server, "call", f"{HEALTH}/Check", "-d", data)
    assert json.loads(ours.stdout) == json.loads(grpcurl(echo_server, f"{HEALTH}/Check", data=data).stdout) == {"status": "SERVING"}


def test_kato_create_session_output_matches_grpcurls_shape(kato, kato_server):
    data = json.dumps({"node_id": "cli-shape", "metadata": {"a": [1, 2.5, "x", None, True, {"b": {}}]},
                       "config": {"recall_threshold": 0.25, "max_pattern_length": "3", "stmMode": "STM_MODE_ROLLING"}})
    ours = json.loads(kato(kato_server, "call", "kato.v2.SessionService/CreateSession", "-d", data).stdout)
    theirs = json.loads(grpcurl(kato_server, "kato.v2.SessionService/CreateSession", data=data).stdout)
    for volatile in ("sessionId", "createdAt", "expiresAt"):
        assert volatile in ours
        ours.pop(volatile), theirs.pop(volatile)
    assert ours == theirs
    assert ours["config"]["maxPatternLength"] == "3" and ours["metadata"] == {"a": [1, 2.5, "x", None, True, {"b": {}}]}


def test_emit_defaults_prints_unset_fields_like_grpcurl(kato, kato_server):
    data = json.dumps({"node_id": "cli-defaults"})
    ours = kato(kato_server, "call", "kato.v2.PredictService/GetPredictions", "--emit-defaults", "-d", data)
    theirs = grpcurl(kato_server, "kato.v2.PredictService/GetPredictions", data=data, flags=("-emit-defaults",))
    assert json.loads(ours.stdout) == json.loads(theirs.stdout) == {
        "sessionId": "", "predictions": [], "futurePotentials": [], "count": "0"}


def test_text_format_requests_and_responses(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}/ServerStream", "--format", "text", "-d", 'message: "t" payload: "\\001" count: 2')
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'message: "t"\npayload: "\\001"\n\x1emessage: "t"\npayload: "\\001"\nindex: 1\n'


# MARK: metadata, deadlines, exit codes

def test_header_metadata_reaches_the_server(kato, echo_server):
    r = kato(echo_server, "call", "-v", "-H", "echo-who: kato-cli", f"{ECHO}/Unary", "-d", "{}")
    assert r.returncode == 0, r.stderr
    assert "echo-who: kato-cli" in r.stdout  # request metadata
    assert "trailer-echo-who: kato-cli" in r.stdout  # echoed back by the server in the trailers


def test_max_time_ends_a_slow_call_with_deadline_exceeded_exit_68(kato, echo_server):
    start = time.monotonic()
    r = kato(echo_server, "call", "--max-time", "0.5", f"{ECHO}/Unary", "-d", json.dumps({"delayMs": 10000}))
    assert r.returncode == 64 + 4, (r.returncode, r.stderr)
    assert "Code: DeadlineExceeded" in r.stderr
    assert time.monotonic() - start < 8  # the 0.5 s deadline, not the 10 s handler (and a slow process start)


@pytest.mark.parametrize("code,name", [(3, "InvalidArgument"), (5, "NotFound"), (7, "PermissionDenied"),
                                       (14, "Unavailable"), (16, "Unauthenticated")])
def test_rpc_errors_exit_with_64_plus_the_code_like_grpcurl(kato, echo_server, code, name):
    data = json.dumps({"failCode": code, "failMessage": "no such thing"})
    ours = kato(echo_server, "call", f"{ECHO}/Unary", "-d", data)
    theirs = grpcurl(echo_server, f"{ECHO}/Unary", data=data)
    assert ours.returncode == theirs.returncode == 64 + code, (ours.returncode, ours.stderr)
    assert ours.stderr.startswith(f"ERROR:\n  Code: {name}\n  Message: no such thing\n")


def test_error_details_are_printed_as_json(kato, kato_server):
    r = kato(kato_server, "call", "kato.v2.SessionService/GetSession", "-d", '{"session_id": "nope"}')
    assert r.returncode == 64 + 5, r.stderr
    assert r.stderr.startswith("ERROR:\n  Code: NotFound\n  Message: session 'nope' not found\n  Details:\n  1)\t")
    detail = json.loads(r.stderr.split("1)\t", 1)[1].splitlines()[0])
    assert detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert detail["reason"] == "SESSION_NOT_FOUND" and detail["domain"] == "kato.v2"
    assert len(detail["metadata"]["trace_id"]) == 32


def test_bad_request_details_list_the_field(kato, kato_server):
    r = kato(kato_server, "call", "kato.v2.SessionService/CreateSession", "-d", "{}")
    assert r.returncode == 64 + 3
    details = [json.loads(line.split(")\t", 1)[1]) for line in r.stderr.splitlines() if ")\t" in line]
    assert {"@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "node_id", "description": "is required"}]} in details


def test_unknown_method_fails_before_calling_with_exit_1(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}/Nope", "-d", "{}")
    assert r.returncode == 1 and "Nope" in r.stderr
    r = kato(echo_server, "call", "no.such.Service/Method", "-d", "{}")
    assert r.returncode == 1 and "no.such.Service" in r.stderr


@pytest.mark.parametrize("data,needle", [
    ('{"nope": 1}', 'has no known field named "nope"'),
    ('{"count": "many"}', "count"),
    ('{"count": 3000000000}', "out of range"),
    ('{"payload": "***"}', "base64"),
    ('{"message": 5}', "expected a string"),
    ('{"message": "x"', "invalid JSON"),
    ('[1, 2]', "expected a JSON object"),
])
def test_bad_request_json_exits_2_with_a_clear_message(kato, echo_server, data, needle):
    r = kato(echo_server, "call", f"{ECHO}/Unary", "-d", data)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr and r.stdout == ""


def test_more_than_one_request_for_a_unary_method_is_a_usage_error(kato, echo_server):
    r = kato(echo_server, "call", f"{ECHO}/Unary", "-d", '{} {}')
    assert r.returncode == 2 and "not client-streaming" in r.stderr


def test_usage_errors_exit_2(kato, echo_server):
    assert kato(echo_server, "call").returncode == 2
    assert kato(echo_server, "call", f"{ECHO}/Unary", "--format", "yaml").returncode == 2
    assert kato(None, "list", "--plaintext", "--insecure").returncode == 2


def test_unreachable_server_exits_1(kato):
    class Down:
        address = "127.0.0.1:1"
    r = kato(Down, "list")
    assert r.returncode == 1
    assert "Failed to dial target host" in r.stderr


def test_server_address_from_the_environment(kato, echo_server):
    r = kato(None, "list", env={"KATO_SERVER": echo_server.address})
    assert r.returncode == 0 and ECHO in r.stdout.split()
