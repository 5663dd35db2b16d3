"""SubscribePredictions across kato-server replicas sharing a real PostgreSQL 15 (docs/SCALING.md):
a subscriber on one replica receives every update caused on the others, in strictly increasing
sequence; a subscriber whose replica is killed resumes on another with resume_after_sequence and
misses nothing; when the bounded update log no longer holds what it asks for it gets one
UPDATE_CAUSE_GAP update with the state now, never a silent hole; deleting the session elsewhere
ends the subscription."""
import queue
import signal
import threading
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, predict_pb2, session_pb2, types_pb2

from test_postgres_sessions import Replica

GAP = predict_pb2.UPDATE_CAUSE_GAP
OBSERVE = predict_pb2.UPDATE_CAUSE_OBSERVE


@pytest.fixture(scope="module")
def three(binaries, pg):
    started = [Replica(binaries, pg) for _ in range(3)]
    yield started
    for r in started:
        r.stop()


class Subscriber:
    """SubscribePredictions in a thread; updates (or the ending error) land in a queue."""

    def __init__(self, replica, sid, resume_after=0, send_initial=False):
        self.updates = queue.Queue()
        self.call = replica.predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(
            session_id=sid, send_initial=send_initial, resume_after_sequence=resume_after))
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for update in self.call:
                self.updates.put(update)
        except grpc.RpcError as e:
            self.updates.put(e)

    def take(self, n, timeout=15):
        got = []
        deadline = time.time() + timeout
        while len(got) < n:
            item = self.updates.get(timeout=max(0.1, deadline - time.time()))
            if isinstance(item, grpc.RpcError):
                raise item
            got.append(item)
        return got

    def cancel(self):
        self.call.cancel()


def wait_subscribed(pg, sid):
    """The subscription is registered once the session logs its updates (log_until set)."""
    deadline = time.time() + 10
    while pg.psql(f"SELECT log_until > now() FROM kato_sessions WHERE id = '{sid}'").stdout.strip() != "t":
        assert time.time() < deadline, "the subscription never reached PostgreSQL"
        time.sleep(0.05)


def test_a_subscriber_on_one_replica_receives_every_update_caused_on_the_others(three, pg):
    a, b, c = three
    sid = a.create("subs-1", max_pattern_length=0).session_id
    sub = Subscriber(b, sid)
    wait_subscribed(pg, sid)
    for i in range(12):
        (a, c)[i % 2].see(sid, f"e{i}")
    got = sub.take(12)
    sub.cancel()
    assert [u.sequence for u in got] == list(range(1, 13))
    assert all(u.cause == OBSERVE for u in got)
    assert [list(e.symbols) for e in got[-1].stm] == [[f"e{i}"] for i in range(12)]


def test_a_subscriber_whose_replica_dies_resumes_on_another_and_misses_nothing(binaries, three, pg):
    a, _, c = three
    doomed = Replica(binaries, pg)
    sid = a.create("subs-2", max_pattern_length=0).session_id
    sub = Subscriber(doomed, sid)
    wait_subscribed(pg, sid)
    for i in range(5):
        a.see(sid, f"before{i}")
    seen = sub.take(5)
    last = seen[-1].sequence
    doomed.server.proc.send_signal(signal.SIGKILL)
    doomed.server.proc.wait()
    for i in range(4):
        a.see(sid, f"during{i}")  # nobody listens now; the log keeps them
    resumed = Subscriber(c, sid, resume_after=last)
    got = resumed.take(4)
    assert [u.sequence for u in got] == [last + 1, last + 2, last + 3, last + 4]
    assert all(u.cause == OBSERVE for u in got)
    a.see(sid, "after")
    assert [u.sequence for u in resumed.take(1)] == [last + 5]
    resumed.cancel()
    doomed.channel.close()


def test_resuming_after_what_the_log_no_longer_holds_gets_one_gap_update_with_the_state_now(three, pg):
    a, b, _ = three
    sid = a.create("subs-3", max_pattern_length=0).session_id
    sub = Subscriber(b, sid)
    wait_subscribed(pg, sid)
    a.see(sid, "first")
    assert [u.sequence for u in sub.take(1)] == [1]
    sub.cancel()
    # 300 updates in one call: more than the log keeps (256).
    a.observe.ObserveSequence(observe_pb2.ObserveSequenceRequest(
        session_id=sid, observations=[types_pb2.Observation(strings=[f"s{i}"]) for i in range(300)]))
    resumed = Subscriber(b, sid, resume_after=1)
    gap = resumed.take(1)[0]
    assert gap.cause == GAP and gap.sequence == 301
    assert len(gap.stm) == 301 and list(gap.stm[-1].symbols) == ["s299"]
    a.see(sid, "next")
    nxt = resumed.take(1)[0]
    assert (nxt.sequence, nxt.cause) == (302, OBSERVE)
    resumed.cancel()


def test_deleting_the_session_on_another_replica_ends_the_subscription(three, pg):
    a, b, _ = three
    sid = a.create("subs-4").session_id
    sub = Subscriber(b, sid)
    wait_subscribed(pg, sid)
    a.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid))
    with pytest.raises(grpc.RpcError) as e:
        sub.take(1, timeout=10)
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_negative_resume_sequence_is_invalid(three):
    a, _, _ = three
    sid = a.create("subs-5").session_id
    with pytest.raises(grpc.RpcError) as e:
        Subscriber(a, sid, resume_after=-1).take(1)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_an_embedded_server_answers_a_resume_that_missed_updates_with_a_gap_update(binaries):
    replica = Replica(binaries, None)
    try:
        sid = replica.create("embedded-resume").session_id
        for s in ("a", "b", "c"):
            replica.see(sid, s)
        sub = Subscriber(replica, sid, resume_after=1)
        gap = sub.take(1)[0]
        assert gap.cause == GAP and gap.sequence == 3 and len(gap.stm) == 3
        sub.cancel()
        up_to_date = Subscriber(replica, sid, resume_after=3)
        replica.see(sid, "d")
        assert [(u.sequence, u.cause) for u in up_to_date.take(1)] == [(4, OBSERVE)]
        up_to_date.cancel()
    finally:
        replica.stop()


def test_notifications_that_are_not_kato_s_change_nothing(three, pg):
    a, b, _ = three
    sid = a.create("subs-6", max_pattern_length=0).session_id
    sub = Subscriber(b, sid)
    wait_subscribed(pg, sid)
    for payload in ("S:notanumber:x", "S:5:", "S:-3:" + sid, "S:999:" + sid, "S:7:no-such-session", "garbage", "x" * 7000):
        assert pg.psql(f"NOTIFY kato_kb, '{payload}'").returncode == 0
    a.see(sid, "real")
    got = sub.take(1)
    assert [(u.sequence, u.cause) for u in got] == [(1, OBSERVE)]
    time.sleep(1.5)  # a poll round: the forged "S:999" announced nothing the log holds
    assert sub.updates.empty()
    b.see(sid, "again")
    assert [u.sequence for u in sub.take(1)] == [2]
    sub.cancel()
    assert a.stm(sid) == [["real"], ["again"]]
