"""Runs KATO v2.0.0 golden cases (Tests/Fixtures/golden, format in its README) through a real
kato-server over gRPC, one fresh node per case, and compares with the README's rules.
KATO_GOLDEN_DIR overrides the directory; ../shared/golden beside the clone is only a cross-check."""
import glob
import json
import math
import os
import uuid

import grpc
from google.protobuf import json_format, struct_pb2

from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2
from kato_client._pb.kato.v2 import observe_pb2_grpc, predict_pb2_grpc, session_pb2_grpc

from conftest import ROOT

TOL = 1e-9


REPOSITORY_GOLDEN = ROOT / "Tests" / "Fixtures" / "golden"
SHARED_GOLDEN = ROOT.parent / "shared" / "golden"


def golden_dir():
    return os.environ.get("KATO_GOLDEN_DIR") or str(REPOSITORY_GOLDEN)


def recorded_total(directory):
    """The `| total | N |` row of the README's file table: the count the recording produced."""
    with open(os.path.join(directory, "README.md")) as f:
        for line in f:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 2 and cells[0] == "total" and cells[1].isdigit():
                return int(cells[1])
    raise AssertionError(f"{directory}/README.md has no '| total | N |' row")


def load_cases():
    return load_cases_from(golden_dir())


def load_cases_from(directory):
    cases = []
    for path in sorted(glob.glob(os.path.join(str(directory), "*.jsonl"))):
        with open(path) as f:
            cases.extend(json.loads(line) for line in f if line.strip())
    return cases


def floats_equal(a, b):
    return a == b or abs(a - b) <= TOL or abs(a - b) <= TOL * max(abs(a), abs(b))


def compare(expected, actual, path="$"):
    """Returns None when equal under the README's rules, else a description of the first difference."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return None if expected == actual else f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, (int, float)):
        if not isinstance(actual, (int, float)) or isinstance(actual, bool):
            return f"{path}: expected {expected!r}, got {actual!r}"
        return None if floats_equal(float(expected), float(actual)) else f"{path}: expected {expected!r}, got {actual!r}"
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(expected) != len(actual):
            return f"{path}: expected {json.dumps(expected)[:200]}, got {json.dumps(actual)[:200]}"
        for i, (e, a) in enumerate(zip(expected, actual)):
            d = compare(e, a, f"{path}[{i}]")
            if d:
                return d
        return None
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for k, e in expected.items():
            if k not in actual:
                return f"{path}.{k}: missing"
            d = compare(e, actual[k], f"{path}.{k}")
            if d:
                return d
        return None
    return f"{path}: cannot compare {expected!r}"


def compare_predictions(expected, actual):
    """Predictions are ordered by potential; ties (equal within tolerance) compare unordered."""
    if len(expected) != len(actual):
        return f"predictions: expected {len(expected)}, got {len(actual)}"
    i = 0
    while i < len(expected):
        j = i
        while j + 1 < len(expected) and floats_equal(expected[j + 1]["potential"], expected[i]["potential"]):
            j += 1
        group_e = sorted(expected[i:j + 1], key=lambda p: p["name"])
        group_a = sorted(actual[i:j + 1], key=lambda p: p["name"])
        for k, (e, a) in enumerate(zip(group_e, group_a)):
            d = compare(e, a, f"predictions[{i + k}]")
            if d:
                return d
        i = j + 1
    return None


def events(evts):
    return [list(e.symbols) for e in evts]


def prediction_dict(p):
    return {
        "type": p.type, "name": p.name, "frequency": p.frequency, "emotives": dict(p.emotives),
        "matches": list(p.matches), "past": events(p.past), "present": events(p.present),
        "missing": events(p.missing), "extras": events(p.extras), "future": events(p.future),
        "sequence": events(p.sequence), "potential": p.potential, "evidence": p.evidence,
        "similarity": p.similarity, "fragmentation": p.fragmentation, "snr": p.snr, "entropy": p.entropy,
        "normalized_entropy": p.normalized_entropy, "global_normalized_entropy": p.global_normalized_entropy,
        "confluence": p.confluence, "predictive_information": p.predictive_information,
        "confidence": p.confidence, "itfdf_similarity": p.itfdf_similarity,
        "pattern_probability": p.pattern_probability, "weighted_strength": p.weighted_strength,
    }


def config_message(cfg):
    m = types_pb2.SessionConfig()
    if "max_pattern_length" in cfg:
        m.max_pattern_length.value = cfg["max_pattern_length"]
    if "persistence" in cfg:
        m.persistence.value = cfg["persistence"]
    if "recall_threshold" in cfg:
        m.recall_threshold.value = cfg["recall_threshold"]
    if "max_predictions" in cfg:
        m.max_predictions.value = cfg["max_predictions"]
    if "sort" in cfg:
        m.sort_symbols.value = cfg["sort"]
    if "process_predictions" in cfg:
        m.process_predictions.value = cfg["process_predictions"]
    if "indexer_type" in cfg:
        m.indexer_type.value = cfg["indexer_type"]
    if "stm_mode" in cfg:
        m.stm_mode = {"CLEAR": types_pb2.STM_MODE_CLEAR, "ROLLING": types_pb2.STM_MODE_ROLLING}[cfg["stm_mode"]]
    return m


def observation_fields(inp):
    fields = {"strings": inp.get("strings", []),
              "vectors": [types_pb2.Vector(values=[float(x) for x in v]) for v in inp.get("vectors", [])],
              "emotives": {k: float(v) for k, v in inp.get("emotives", {}).items()}}
    meta = {}
    for k, v in inp.get("metadata", {}).items():
        value = struct_pb2.Value()
        json_format.ParseDict(v, value)
        meta[k] = value
    fields["metadata"] = meta
    return fields


class GoldenRunner:
    def __init__(self, channel):
        self.sessions = session_pb2_grpc.SessionServiceStub(channel)
        self.observe = observe_pb2_grpc.ObserveServiceStub(channel)
        self.predict = predict_pb2_grpc.PredictServiceStub(channel)

    def run_case(self, case):
        """Returns None when the case passes, else 'step N (op): difference'."""
        created = self.sessions.CreateSession(session_pb2.CreateSessionRequest(
            node_id=f"golden-{case['id']}-{uuid.uuid4().hex}", config=config_message(case["config"])))
        sid = created.session_id
        try:
            for n, step in enumerate(case["steps"]):
                actual = self.run_step(sid, step)
                exp = step["expect"]
                if step["op"] == "predictions":
                    d = compare_predictions(exp["predictions"], actual["predictions"]) or \
                        compare(exp["future_potentials"], actual["future_potentials"], "future_potentials")
                else:
                    d = compare(exp, actual)
                if d:
                    return f"step {n} ({step['op']}): {d}"
            return None
        finally:
            self.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid))

    def run_step(self, sid, step):
        op, inp = step["op"], step.get("input", {})
        if op == "observe":
            r = self.observe.Observe(observe_pb2.ObserveRequest(session_id=sid, **observation_fields(inp)))
            return {"status": r.status, "stm_length": r.stm_length, "time": r.time,
                    "auto_learned_pattern": r.auto_learned_pattern or None, "symbols": list(r.symbols)}
        if op == "learn":
            try:
                r = self.observe.Learn(observe_pb2.LearnRequest(session_id=sid))
                name = r.pattern_name
            except grpc.RpcError as e:
                # kato refuses to learn from an empty STM (KATO's API does too: 400);
                # the engine-level golden call returns "" there.
                assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
                name = ""
            stm = self.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid))
            return {"pattern_name": name, "stm_length": stm.length}
        if op == "predictions":
            r = self.predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid))
            return {"predictions": [prediction_dict(p) for p in r.predictions],
                    "future_potentials": [{"future": events(f.future), "aggregate_potential": f.aggregate_potential,
                                           "supporting_patterns": f.supporting_patterns,
                                           "total_weighted_frequency": f.total_weighted_frequency}
                                          for f in r.future_potentials]}
        if op == "stm":
            r = self.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid))
            return {"stm": events(r.events)}
        if op == "clear_stm":
            self.observe.ClearShortTermMemory(observe_pb2.ClearShortTermMemoryRequest(session_id=sid))
            return {"stm_length": self.stm_length(sid)}
        if op == "clear_all":
            self.observe.ClearAllMemory(observe_pb2.ClearAllMemoryRequest(session_id=sid))
            return {"stm_length": self.stm_length(sid)}
        if op == "config":
            self.sessions.UpdateSessionConfig(session_pb2.UpdateSessionConfigRequest(
                session_id=sid, config=config_message(inp)))
            return {"status": "okay"}
        if op == "pattern":
            try:
                p = self.predict.GetPattern(predict_pb2.GetPatternRequest(session_id=sid, name=inp["name"]))
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.NOT_FOUND, e
                return {"status": "error", "message": e.details()}
            emotives = [dict(e.values) for e in p.emotives]
            return {"status": "okay", "pattern": {
                "name": p.name, "pattern_data": events(p.pattern_data), "length": p.length,
                "frequency": p.frequency, "emotives": emotives if emotives else {},
                "metadata": {k: list(v.values) for k, v in p.metadata.items()}}}
        if op == "observe_sequence":
            r = self.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
                session_id=sid, observations=[types_pb2.Observation(**observation_fields(o)) for o in inp["observations"]],
                learn_after_each=inp.get("learn_after_each", False), learn_at_end=inp.get("learn_at_end", False),
                clear_stm_between=inp.get("clear_stm_between", False)))
            out = {"status": r.status, "observations_processed": r.observations_processed,
                   "final_stm_length": r.final_stm_length, "auto_learned_patterns": list(r.auto_learned_patterns),
                   "final_learned_pattern": r.final_learned_pattern or None}
            out["results"] = [{"status": x.status, "sequence_position": x.sequence_position, "stm_length": x.stm_length,
                               "time": x.time, "auto_learned_pattern": x.auto_learned_pattern or None} for x in r.results]
            return out
        raise AssertionError(f"unknown op {op}")

    def stm_length(self, sid):
        return self.observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid)).length
