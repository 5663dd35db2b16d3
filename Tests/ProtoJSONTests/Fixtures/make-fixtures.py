#!/usr/bin/env python3
"""Writes the proto3-JSON round-trip fixtures of ProtoJSONTests from Google's own protobuf
runtime: each case is a kato.v2 message built with the protoc-generated Python stubs
(clients/python/kato_client/_pb), saved as its binary encoding (`NAME.bin`) and as
google.protobuf.json_format's JSON (`NAME.json`), plus the descriptor set protoc made for
the same protos (`kato.pb`). The Swift tests check that ProtoJSON reads and writes both
forms exactly as protobuf does.

    .venv/bin/python Tests/ProtoJSONTests/Fixtures/make-fixtures.py
"""
import os
import pathlib
import subprocess
import sys

from google.protobuf import json_format

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2  # noqa: E402


def observe_request():
    m = observe_pb2.ObserveRequest(session_id="session-0123456789abcdef0123456789abcdef-1700000000000",
                                   strings=["hello", "wörld", "tab\there", "quote\"back\\slash", "<img src=x>"],
                                   unique_id="obs-1")
    v = m.vectors.add()
    v.values.extend([0.1, -2.5, 1e-7, 3.0e20, 0.0])
    m.emotives["joy"] = 0.75
    m.emotives["fear"] = -1.0
    m.metadata["source"].string_value = "sensor-7"
    m.metadata["count"].number_value = 42
    m.metadata["ok"].bool_value = True
    m.metadata["nothing"].null_value = 0
    m.metadata["tags"].list_value.values.add().string_value = "a"
    m.metadata["tags"].list_value.values.add().number_value = 1.5
    m.metadata["nested"].struct_value.fields["deep"].string_value = "\u2028 line sep and emoji \U0001F600"
    return m


def predictions_response(n=100):
    m = predict_pb2.GetPredictionsResponse(session_id="s-1", count=n)
    for i in range(n):
        p = m.predictions.add(type="prototypical", name="%040x" % (i * 7919), frequency=i + 1,
                              matches=["a%d" % i, "b"], similarity=1.0 / (i + 1), evidence=0.5,
                              confidence=0.25 * (i % 4), fragmentation=-1.0, snr=0.1 * i,
                              entropy=1.0 / 3.0, normalized_entropy=2.0 / 3.0, potential=i * 0.01,
                              pattern_probability=1e-3, weighted_strength=123456.789)
        p.emotives["joy"] = i / 10.0
        for field in (p.past, p.present, p.future, p.sequence):
            field.add().symbols.extend(["x%d" % i, "y"])
        p.missing.add()
    fp = m.future_potentials.add()
    fp.aggregate_potential = 0.5
    return m


def create_session_request():
    m = session_pb2.CreateSessionRequest(node_id="n1", ttl_seconds=9007199254740993)
    m.config.max_pattern_length.value = 5
    m.config.recall_threshold.value = 0.3
    m.config.stm_mode = types_pb2.STM_MODE_ROLLING
    m.config.indexer_type.value = "VI"
    m.config.sort_symbols.value = False
    m.metadata.update({"owner": "ana", "n": 3, "list": [1, "two", None, True], "obj": {"k": "v"}})
    return m


def session():
    m = session_pb2.Session(session_id="s-2", node_id="n1", ttl_seconds=-5, stm_length=0, time=12)
    m.created_at.FromJsonString("2026-12-06T20:15:30.123Z")
    m.expires_at.seconds = 253402300799  # 9999-12-31T23:59:59Z, the largest timestamp
    m.expires_at.nanos = 1000
    return m


CASES = {
    "observe_request": observe_request,
    "get_predictions_response": predictions_response,
    "create_session_request": create_session_request,
    "session": session,
    "empty_observe_request": lambda: observe_pb2.ObserveRequest(),
}


def main():
    for name, make in CASES.items():
        msg = make()
        (HERE / (name + ".bin")).write_bytes(msg.SerializeToString(deterministic=True))
        text = json_format.MessageToJson(msg, indent=None, sort_keys=False)
        (HERE / (name + ".json")).write_text(msg.DESCRIPTOR.full_name + "\n" + text + "\n")
    subprocess.run(["protoc", "-I" + str(ROOT / "proto"), "-I/usr/include", "--include_imports",
                    "--descriptor_set_out=" + str(HERE / "kato.pb")]
                   + sorted(str(p.relative_to(ROOT / "proto")) for p in (ROOT / "proto" / "kato" / "v2").glob("*.proto")),
                   check=True)


if __name__ == "__main__":
    main()
