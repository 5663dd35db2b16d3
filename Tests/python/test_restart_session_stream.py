"""Restart by hand-over with the sessions streamed behind an index (docs/OPERATIONS.md "Restart",
step 5): the successor accepts calls as soon as it has every session's id, the sessions follow
chunk by chunk, and a call for a session whose chunk has not arrived waits for that chunk — it
never answers from nothing (an empty default session, a NOT_FOUND) — up to
`--take-over-session-wait`, past which it gets UNAVAILABLE `SESSION_HANDOVER_PENDING`.

The predecessor holds back each chunk after the first (`KATO_TEST_HANDOVER_CHUNK_DELAY_MS`, test
only), so the stream takes seconds and calls really do arrive before their sessions.
"""
import time

import grpc

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc

from conftest import RunningServer, start_kato_server
from test_restart import NODE, Load, start_successor, stm, wait_exit

CHUNK = 2048  # SessionHandOver.chunkSize


def make_sessions(address, count, prefix):
    """`count` sessions, each with one observation `<prefix><k>`; returns {id: expected STM}."""
    with grpc.insecure_channel(address) as ch:
        sessions = session_pb2_grpc.SessionServiceStub(ch)
        observe = observe_pb2_grpc.ObserveServiceStub(ch)
        ids = []
        for start in range(0, count, 256):
            batch = [sessions.CreateSession.future(session_pb2.CreateSessionRequest(node_id=NODE), timeout=30)
                     for _ in range(min(256, count - start))]
            ids += [f.result().session_id for f in batch]
        expected = {}
        for start in range(0, count, 256):
            batch = [(sid, f"{prefix}{start + k}") for k, sid in enumerate(ids[start:start + 256])]
            futures = [observe.Observe.future(observe_pb2.ObserveRequest(session_id=sid, strings=[s]), timeout=30)
                       for sid, s in batch]
            for f in futures:
                f.result()
            expected.update({sid: [[s]] for sid, s in batch})
        return expected


def cognition(predict, sid, timeout=60):
    started = time.monotonic()
    data = predict.GetCognitionData(predict_pb2.GetCognitionDataRequest(session_id=sid), timeout=timeout)
    return [list(e.symbols) for e in data.short_term_memory], time.monotonic() - started


def test_successor_serves_before_the_sessions_arrive_and_under_load_every_stm_and_learn_survives(binaries, tmp_path):
    data = str(tmp_path / "data")
    delay = {"KATO_TEST_HANDOVER_CHUNK_DELAY_MS": "1500"}
    old = start_kato_server(binaries, "--data-dir", data, env=delay)
    successor = None
    try:
        # Idle sessions, older than the load's: they travel in the later chunks.
        idle = make_sessions(old.address, 2 * CHUNK + 100, "idle-")
        load = Load(old.address)
        load.start()
        time.sleep(1.0)
        started = time.monotonic()
        successor = start_successor(binaries, data)
        serving_after = time.monotonic() - started
        assert successor.address == old.address
        # Every idle session, asked for at once: the calls for the late chunks wait for them.
        with grpc.insecure_channel(successor.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            futures = {sid: predict.GetCognitionData.future(predict_pb2.GetCognitionDataRequest(session_id=sid), timeout=60)
                       for sid in idle}
            wrong = {}
            for sid, f in futures.items():
                got = [list(e.symbols) for e in f.result().short_term_memory]
                if got != idle[sid]:
                    wrong[sid] = got
            all_answered = time.monotonic() - started
        assert wrong == {}, f"sessions answered with the wrong STM during the hand-over: {list(wrong.items())[:5]}"
        assert wait_exit(old.proc) == 0
        # The stream (3 chunks, 1.5 s between them) outlasted the successor's start: it served first.
        assert all_answered - serving_after >= 2.0, (
            f"the successor accepted only {all_answered - serving_after:.1f} s before the last session arrived: "
            "it did not serve ahead of the stream")
        time.sleep(1.0)
        load.finish()
        assert load.failures == [], f"calls failed across the hand-over: {load.failures[:5]}"
        with grpc.insecure_channel(successor.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            load.assert_intact(predict)
            count = session_pb2_grpc.SessionServiceStub(ch).CountSessions(session_pb2.CountSessionsRequest(node_id=NODE), timeout=30)
            assert count.count == len(idle) + len(load.observed) + len(load.learning)
        print(f"streamed hand-over under load: successor serving after {serving_after:.1f} s, last idle session "
              f"answered after {all_answered:.1f} s, {load.calls} calls, 0 failed, slowest {load.slowest * 1000:.0f} ms, "
              f"{len(load.learned)} learns and {len(idle)} idle sessions checked")
    finally:
        if successor:
            successor.stop()
        old.stop()


def test_call_for_a_session_still_on_its_way_waits_for_it_and_past_the_bound_gets_unavailable(binaries, tmp_path):
    data = str(tmp_path / "data")
    # The late chunk comes 8 s after the first: the call for it starts after the successor's start and
    # a first call, which a loaded machine can stretch to seconds; it must still wait >= 2 s.
    delay = {"KATO_TEST_HANDOVER_CHUNK_DELAY_MS": "8000"}
    old = start_kato_server(binaries, "--data-dir", data, env=delay)
    first = second = None
    try:
        with grpc.insecure_channel(old.address) as ch:
            observe = observe_pb2_grpc.ObserveServiceStub(ch)
            sessions = session_pb2_grpc.SessionServiceStub(ch)
            late = []
            for name in ("late-a", "late-b"):  # the least recently used: the last chunk
                sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id=NODE), timeout=10).session_id
                for s in (f"{name}-1", f"{name}-2"):
                    observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[s]), timeout=10)
                late.append(sid)
        recent = make_sessions(old.address, CHUNK + 10, "recent-")
        newest = list(recent)[-1]
        # First hand-over: a call for the late session waits for its chunk (8 s behind the first).
        first = RunningServer([str(binaries / "kato-server"), "--port", "0", "--log-level", "warning", "--data-dir", data,
                               "--take-over"], env=delay)
        with grpc.insecure_channel(first.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            got_recent, recent_took = cognition(predict, newest)
            got_late, late_took = cognition(predict, late[0])
        assert got_recent == recent[newest]
        assert got_late == [["late-a-1"], ["late-a-2"]], f"a call for a session still on its way answered {got_late}"
        assert late_took >= 2.0, f"the late session answered after {late_took:.1f} s: it did not wait for its chunk"
        assert recent_took < late_took
        assert wait_exit(old.proc) == 0
        # Second hand-over with a 0.5 s bound: the still untouched late-b is in the last chunk again.
        second = RunningServer([str(binaries / "kato-server"), "--port", "0", "--log-level", "warning", "--data-dir", data,
                                "--take-over", "--take-over-session-wait", "0.5"], env=delay)
        with grpc.insecure_channel(second.address) as ch:
            predict = predict_pb2_grpc.PredictServiceStub(ch)
            try:
                cognition(predict, late[1])
                raise AssertionError("a call past --take-over-session-wait answered before its session arrived")
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.UNAVAILABLE, e
                assert "still on the way" in e.details(), e.details()
            # Retried once the session is here: its STM, intact.
            deadline = time.time() + 30
            while True:
                try:
                    got, _ = cognition(predict, late[1])
                    break
                except grpc.RpcError as e:
                    assert e.code() == grpc.StatusCode.UNAVAILABLE and time.time() < deadline, e
                    time.sleep(0.5)
            assert got == [["late-b-1"], ["late-b-2"]]
            assert cognition(predict, late[0])[0] == [["late-a-1"], ["late-a-2"]]
        assert wait_exit(first.proc) == 0
    finally:
        for server in (second, first, old):
            if server:
                server.stop()
