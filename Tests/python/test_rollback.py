"""Binary rollback and upgrade against the previous release's own kato-server (issue 16): the
previous release on a data directory this one wrote, and a restart by hand-over in both
directions (this → previous is a rollback, previous → this an upgrade; the two negotiate the
session format, so sessions survive either way).

Needs the previous release built: `make test-rollback` (PREVIOUS_REF=<git ref>; by default a
branch's merge base with main, or main's previous commit on main) builds it into .build-previous
(scripts/build-previous-release) and runs this file; without KATO_PREVIOUS_BIN_DIR every test
here skips, saying so. `make test` does not collect this file (Makefile SEPARATE_PYTESTS): the
extra cold build takes 10–20 minutes.
"""
import os
import pathlib
import subprocess
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import (knowledge_pb2, knowledge_pb2_grpc, observe_pb2, observe_pb2_grpc, predict_pb2,
                                     predict_pb2_grpc, session_pb2, session_pb2_grpc)

from conftest import RunningServer

NODE = "rollback"
PREVIOUS = os.environ.get("KATO_PREVIOUS_BIN_DIR")

pytestmark = pytest.mark.skipif(
    not PREVIOUS, reason="the previous release's kato-server is not built: run `make test-rollback` (sets KATO_PREVIOUS_BIN_DIR)")


def server(bin_dir, data, *extra):
    return RunningServer([str(pathlib.Path(bin_dir) / "kato-server"), "--port", "0", "--log-level", "warning",
                          "--data-dir", data, *extra])


def learn_some(address):
    with grpc.insecure_channel(address) as ch:
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
        names = []
        for a, b in (("r1", "r2"), ("r3", "r4"), ("r5", "r6")):
            observe.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=[a]), timeout=10)
            observe.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=[b]), timeout=10)
            names.append(observe.Learn(observe_pb2.LearnRequest(node_id=NODE), timeout=10).pattern_name)
        return names


def patterns(address):
    with grpc.insecure_channel(address) as ch:
        listed = knowledge_pb2_grpc.KnowledgeBaseServiceStub(ch).ListPatterns(
            knowledge_pb2.ListPatternsRequest(node_id=NODE, page_size=100), timeout=10)
    return sorted(p.name for p in listed.patterns)


def test_previous_release_reads_a_data_directory_this_release_wrote_or_refuses_it_clearly(binaries, tmp_path):
    data = str(tmp_path / "data")
    current = server(binaries, data)
    learned = sorted(learn_some(current.address))
    current.stop()
    run = subprocess.Popen([str(pathlib.Path(PREVIOUS) / "kato-server"), "--port", "0", "--log-level", "warning", "--data-dir", data],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = run.stdout.readline()
    if not line.startswith("listening on "):
        # The rule's other branch: a store migrated past what the previous release knows is refused.
        assert run.wait(30) != 0
        assert "newer than this kato" in run.stderr.read()
        return
    try:
        address = line.split("listening on ", 1)[1].strip()
        assert patterns(address) == learned, "the previous release reads a different knowledge base"
    finally:
        run.terminate()
        run.wait(30)


def session_with_stm(address):
    with grpc.insecure_channel(address) as ch:
        sid = session_pb2_grpc.SessionServiceStub(ch).CreateSession(
            session_pb2.CreateSessionRequest(node_id=NODE, ttl_seconds=300), timeout=10).session_id
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
        for s in ("x", "y"):
            observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[s]), timeout=10)
        observe.Observe(observe_pb2.ObserveRequest(node_id=NODE, strings=["default"]), timeout=10)
    return sid


def stm(address, **where):
    with grpc.insecure_channel(address) as ch:
        data = predict_pb2_grpc.PredictServiceStub(ch).GetCognitionData(predict_pb2.GetCognitionDataRequest(**where), timeout=10)
    return [list(e.symbols) for e in data.short_term_memory]


@pytest.mark.parametrize("direction", ["rollback", "upgrade"])
def test_hand_over_between_this_and_the_previous_release_keeps_port_sessions_and_knowledge(binaries, tmp_path, direction):
    data = str(tmp_path / "data")
    first, second = (binaries, PREVIOUS) if direction == "rollback" else (PREVIOUS, binaries)
    old = server(first, data)
    new = None
    try:
        learned = sorted(learn_some(old.address))
        sid = session_with_stm(old.address)
        new = server(second, data, "--take-over")
        assert new.address == old.address, "the successor serves the predecessor's socket"
        assert old.proc.wait(60) == 0
        assert stm(new.address, session_id=sid) == [["x"], ["y"]], f"{direction}: the session's STM did not arrive"
        assert stm(new.address, node_id=NODE) == [["default"]], f"{direction}: the default session did not arrive"
        assert patterns(new.address) == learned
    finally:
        if new:
            new.stop()
        old.stop()
