"""The `kato call` dynamic codec (proto3 JSON <-> protobuf through reflected descriptors) for
every field type, against a reflection-only Python server that echoes any message back.
Three implementations must agree: our CLI, grpcurl, and protobuf's own json_format."""
import json
import os
import pathlib
import subprocess
from concurrent import futures

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format
from grpc_reflection.v1alpha import reflection

from conftest import ROOT

GRPCURL = ROOT / ".venv" / "bin" / "grpcurl"
ECHO = "clitest.AllTypesService/Echo"

PROTO = r'''
syntax = "proto3";
// Every field type, for the kato CLI's codec tests.
package clitest;

import "google/protobuf/any.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

// A color.
enum Color {
  COLOR_UNSPECIFIED = 0;
  RED = 1;
  GREEN = 2;
}

message Nested {
  string name = 1;
  repeated int32 values = 2;
  Nested child = 3;
}

// All the field kinds.
message AllTypes {
  double f_double = 1;
  float f_float = 2;
  int32 f_int32 = 3;
  int64 f_int64 = 4;
  uint32 f_uint32 = 5;
  uint64 f_uint64 = 6;
  sint32 f_sint32 = 7;
  sint64 f_sint64 = 8;
  fixed32 f_fixed32 = 9;
  fixed64 f_fixed64 = 10;
  sfixed32 f_sfixed32 = 11;
  sfixed64 f_sfixed64 = 12;
  bool f_bool = 13;
  string f_string = 14;
  bytes f_bytes = 15;
  Color f_enum = 16;
  Nested f_nested = 17;
  repeated int32 r_int32 = 20;
  repeated int64 r_int64 = 21;
  repeated double r_double = 22;
  repeated string r_string = 23;
  repeated Color r_enum = 24;
  repeated Nested r_nested = 25;
  repeated bytes r_bytes = 26;
  repeated bool r_bool = 27;
  repeated float r_float = 28;
  repeated sint64 r_sint64 = 29;
  map<string, int32> m_str_int = 30;
  map<int64, string> m_int_str = 31;
  map<bool, Nested> m_bool_msg = 32;
  map<uint32, Color> m_uint_enum = 33;
  // Exactly one.
  oneof choice {
    string o_string = 40;
    Nested o_nested = 41;
    int64 o_int64 = 42;
  }
  optional int32 p_int32 = 45;
  google.protobuf.Timestamp t_timestamp = 50;
  google.protobuf.Duration t_duration = 51;
  google.protobuf.Struct t_struct = 52;
  google.protobuf.Value t_value = 53;
  google.protobuf.ListValue t_list = 54;
  google.protobuf.Any t_any = 55;
  google.protobuf.FieldMask t_mask = 56;
  google.protobuf.Empty t_empty = 57;
  google.protobuf.Int64Value w_int64 = 60;
  google.protobuf.UInt64Value w_uint64 = 61;
  google.protobuf.Int32Value w_int32 = 62;
  google.protobuf.DoubleValue w_double = 63;
  google.protobuf.FloatValue w_float = 64;
  google.protobuf.BoolValue w_bool = 65;
  google.protobuf.StringValue w_string = 66;
  google.protobuf.BytesValue w_bytes = 67;
  google.protobuf.UInt32Value w_uint32 = 68;
  string custom_json = 70 [json_name = "customName"];
  repeated google.protobuf.Value r_value = 71;
  map<string, google.protobuf.Value> m_value = 72;
  reserved 90 to 95, 99;
  reserved "old_field";
}

service AllTypesService {
  // Returns the request.
  rpc Echo(AllTypes) returns (AllTypes);
  // Returns every request.
  rpc EchoStream(stream AllTypes) returns (stream AllTypes);
}
'''


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    import grpc_tools
    from grpc_tools import protoc
    tmp = tmp_path_factory.mktemp("clitest-proto")
    (tmp / "clitest.proto").write_text(PROTO)
    out = tmp / "clitest.pb"
    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    assert protoc.main(["protoc", f"-I{tmp}", f"-I{include}", "--include_imports", "--include_source_info",
                        f"--descriptor_set_out={out}", str(tmp / "clitest.proto")]) == 0
    result = descriptor_pool.DescriptorPool()
    for f in descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes()).file:
        result.Add(f)
    return result


@pytest.fixture(scope="module")
def all_types_server(pool):
    """Echo (unary) and EchoStream (bidi) return what they receive, without parsing it; only
    v1alpha reflection is offered (the CLI falls back to it)."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    handlers = {
        "Echo": grpc.unary_unary_rpc_method_handler(lambda request, context: request),
        "EchoStream": grpc.stream_stream_rpc_method_handler(lambda requests, context: iter(requests)),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("clitest.AllTypesService", handlers),))
    reflection.enable_server_reflection(["clitest.AllTypesService", reflection.SERVICE_NAME], server, pool)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()

    class Address:
        address = f"127.0.0.1:{port}"
    yield Address
    server.stop(None)


@pytest.fixture(scope="module")
def AllTypes(pool):
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("clitest.AllTypes"))


@pytest.fixture(scope="module")
def kato(binaries, tmp_path_factory, all_types_server):
    cwd = tmp_path_factory.mktemp("no-protos")

    def run(*args, data=None, method=ECHO):
        cmd = [str(binaries / "kato"), "call", "--server", all_types_server.address, method, *args]
        if data is not None:
            cmd += ["-d", data if isinstance(data, str) else json.dumps(data)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd=cwd)
    return run


def grpcurl(server, *args, data):
    return subprocess.run([str(GRPCURL), "-plaintext", "-max-time", "10", *args, "-d", json.dumps(data), server.address, ECHO],
                          capture_output=True, text=True, timeout=30)


EVERYTHING = {
    "fDouble": 1.5e300, "fFloat": 0.1, "fInt32": -5, "fInt64": "9007199254740993", "fUint32": 4294967295,
    "fUint64": "18446744073709551615", "fSint32": -2147483648, "fSint64": "-9223372036854775808", "fFixed32": 7,
    "fFixed64": "8", "fSfixed32": -9, "fSfixed64": "-10", "fBool": True, "fString": "héllo\n\"q\" \u2028 \U0001F600",
    "fBytes": "AAECAw==", "fEnum": "GREEN", "fNested": {"name": "n", "values": [1, 2, 3], "child": {"name": "c"}},
    "rInt32": [1, -1, 0], "rInt64": ["1", "-2"], "rDouble": [0.5, "NaN", "Infinity", "-Infinity", 1e-7, 1e21, 123456789.125],
    "rString": ["a", "b"], "rEnum": ["RED", 2], "rNested": [{"name": "x"}, {}], "rBytes": ["/w=="], "rBool": [True, False],
    "rFloat": [1.25, 3.4028234663852886e38], "rSint64": ["-3"], "mStrInt": {"b": 2, "a": 1}, "mIntStr": {"10": "ten", "-1": "m"},
    "mBoolMsg": {"true": {"name": "t"}, "false": {}}, "mUintEnum": {"3": "RED"}, "oNested": {"name": "o"}, "pInt32": 0,
    "tTimestamp": "2024-05-01T12:00:00.5+02:00", "tDuration": "-1.5s", "tStruct": {"k": [1, "x", None, {"z": False}]},
    "tValue": None, "tList": [1, 2], "tAny": {"@type": "type.googleapis.com/clitest.Nested", "name": "inany"}, "tEmpty": {},
    "wInt64": "5", "wUint64": "6", "wInt32": 7, "wDouble": 8.5, "wFloat": 9.5, "wBool": False, "wString": "s",
    "wBytes": "YQ==", "wUint32": 10, "customName": "cj", "rValue": [1, "a", None], "mValue": {"k": {"a": 1}},
}


def reference(AllTypes, pool, data, **options):
    """protobuf's own answer: parse the JSON and print it back."""
    message = json_format.Parse(json.dumps(data), AllTypes(), descriptor_pool=pool)
    return json.loads(json_format.MessageToJson(message, descriptor_pool=pool, **options))


def test_every_field_type_round_trips_like_grpcurl_and_protobuf(kato, all_types_server, AllTypes, pool):
    r = kato(data=EVERYTHING)
    assert r.returncode == 0, r.stderr
    ours = json.loads(r.stdout)
    theirs = grpcurl(all_types_server, data=EVERYTHING)
    assert theirs.returncode == 0, theirs.stderr
    assert ours == json.loads(theirs.stdout)
    assert ours == reference(AllTypes, pool, EVERYTHING)
    assert ours["fInt64"] == "9007199254740993" and ours["fUint64"] == "18446744073709551615"
    assert ours["mStrInt"] == {"a": 1, "b": 2} and ours["tTimestamp"] == "2024-05-01T10:00:00.500Z"


def test_fields_print_in_field_number_order_under_json_names(kato):
    r = kato(data={"customName": "z", "fString": "s", "fInt32": 1, "rInt32": [2], "tDuration": "1s"})
    assert r.stdout == ('{\n  "fInt32": 1,\n  "fString": "s",\n  "rInt32": [\n    2\n  ],\n  "tDuration": "1s",\n'
                        '  "customName": "z"\n}\n')


def test_emit_defaults_matches_grpcurl(kato, all_types_server):
    ours = kato("--emit-defaults", data={"oString": ""})
    theirs = subprocess.run([str(GRPCURL), "-plaintext", "-emit-defaults", "-d", '{"oString": ""}', all_types_server.address, ECHO],
                            capture_output=True, text=True, timeout=30)
    assert json.loads(ours.stdout) == json.loads(theirs.stdout)
    assert json.loads(ours.stdout)["fInt64"] == "0" and json.loads(ours.stdout)["fNested"] is None


@pytest.mark.parametrize("data", [
    {"tMask": "fooBar,x.yZ"},
    {"tAny": {"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2.000000001s"}},
    {"tAny": {"@type": "type.googleapis.com/google.protobuf.Struct", "value": {"a": [True]}}},
    {"oString": ""},
    {"oInt64": 0, "pInt32": 0},
    {"f_int32": "12", "f_double": "-0", "f_float": "Infinity", "r_double": ["1e3"]},
    {"fInt32": 1e3, "fInt64": "-0", "fUint64": 1.8e19},
    {"tTimestamp": "0001-01-01T00:00:00Z", "tDuration": "315576000000s"},
    {"tTimestamp": "9999-12-31T23:59:59.999999999Z", "tDuration": "0.000001s"},
    {"fBytes": "-_8", "rBytes": ["AQ", ""]},
    {"rEnum": [7], "fEnum": 9},
    {"tStruct": {}, "tList": [], "tValue": {"nested": [[], {}]}},
    {"wInt64": "0", "wString": "", "wBool": False},
])
def test_special_forms_agree_with_protobuf(kato, AllTypes, pool, data):
    r = kato(data=data)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == reference(AllTypes, pool, data)


def test_any_holding_a_message_resolves_its_type_by_reflection(kato):
    data = {"tAny": {"@type": "type.googleapis.com/clitest.AllTypes", "fInt64": "3",
                     "tAny": {"@type": "type.googleapis.com/clitest.Nested", "name": "deep"}}}
    r = kato(data=data)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == data


@pytest.mark.parametrize("data,needle", [
    ({"nope": 1}, 'message type clitest.AllTypes has no known field named "nope"'),
    ({"fNested": {"bad": 1}}, 'fNested: message type clitest.Nested has no known field named "bad"'),
    ({"fInt32": 2147483648}, "fInt32: invalid value for int32 field f_int32"),
    ({"fUint32": -1}, "fUint32"),
    ({"fInt32": 1.5}, "fInt32"),
    ({"fInt64": "12a"}, "fInt64"),
    ({"fBool": "true"}, "expected true or false"),
    ({"fFloat": 1e39}, "out of range for a float"),
    ({"fEnum": "PURPLE"}, '"PURPLE" is not a value of clitest.Color'),
    ({"rInt32": 5}, "expected a JSON array"),
    ({"rInt32": [1, None]}, "rInt32[1]: repeated values cannot be null"),
    ({"mStrInt": {"a": "x"}}, 'mStrInt["a"]'),
    ({"mBoolMsg": {"maybe": {}}}, "is not a bool"),
    ({"oString": "a", "oInt64": 1}, "oneof choice"),
    ({"fInt32": 1, "f_int32": 2}, "set twice"),
    ({"tTimestamp": "yesterday"}, "is not an RFC 3339 timestamp"),
    ({"tDuration": "5m"}, "is not a duration"),
    ({"tAny": {"@type": "type.googleapis.com/no.Such"}}, "no.Such"),
    ({"tEmpty": {"x": 1}}, "expected {} for google.protobuf.Empty"),
])
def test_invalid_input_exits_2_and_names_the_field(kato, data, needle):
    r = kato(data=data)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert needle in r.stderr, r.stderr


def test_64_bit_integers_keep_full_precision_as_numbers_too(kato):
    r = kato(data='{"fInt64": 9223372036854775807, "fUint64": 18446744073709551615, "rInt64": [-9223372036854775808]}')
    assert json.loads(r.stdout) == {"fInt64": "9223372036854775807", "fUint64": "18446744073709551615",
                                    "rInt64": ["-9223372036854775808"]}


def test_packed_and_unpacked_repeated_fields_decode_alike(binaries, all_types_server, AllTypes, pool, tmp_path):
    # The server echoes bytes; send unpacked repeated ints through grpcio and decode with our CLI's
    # codec by round-tripping the text format.
    r = subprocess.run([str(binaries / "kato"), "call", "--server", all_types_server.address, ECHO, "--format", "text",
                        "-d", "r_int32: 1 r_int32: 2 r_int32: [3, 4] r_sint64: -5 r_float: 0.5"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    message = text_format.Parse(r.stdout, AllTypes(), descriptor_pool=pool)
    assert list(message.r_int32) == [1, 2, 3, 4] and list(message.r_sint64) == [-5] and list(message.r_float) == [0.5]


def test_text_format_output_parses_with_protobuf(kato, AllTypes, pool):
    r = kato("--format", "text", data='f_string: "a\\"b\\n\\001é" f_bytes: "\\377\\000" f_enum: GREEN f_double: -inf '
                                      'm_str_int { key: "k" value: 3 } o_nested < name: "x" > f_uint64: 0xFF')
    assert r.returncode == 0, r.stderr
    message = text_format.Parse(r.stdout, AllTypes(), descriptor_pool=pool)
    assert message.f_string == 'a"b\n\x01é' and message.f_bytes == b"\xff\x00" and message.f_uint64 == 255
    assert message.m_str_int["k"] == 3 and message.o_nested.name == "x" and message.f_double == float("-inf")


def test_bidi_stream_of_all_types(kato):
    lines = "\n".join(json.dumps({"fInt32": i, "tDuration": f"{i}s"}) for i in range(1, 4))
    r = kato(data=lines, method="clitest.AllTypesService/EchoStream")
    assert r.returncode == 0, r.stderr
    values, decoder, i, text = [], json.JSONDecoder(), 0, r.stdout
    while text[i:].strip():
        value, i = decoder.raw_decode(text, text.index("{", i))
        values.append(value)
    assert values == [{"fInt32": i, "tDuration": f"{i}s"} for i in range(1, 4)]


def test_describe_through_v1alpha_only_reflection_equals_grpcurl(binaries, all_types_server):
    for symbol in ("clitest.AllTypes", "clitest.AllTypesService", "clitest.Color", "clitest.AllTypes.MValueEntry"):
        ours = subprocess.run([str(binaries / "kato"), "describe", "--server", all_types_server.address, symbol],
                              capture_output=True, text=True, timeout=30)
        theirs = subprocess.run([str(GRPCURL), "-plaintext", all_types_server.address, "describe", symbol],
                                capture_output=True, text=True, timeout=30)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == theirs.stdout
