"""SubscribePredictions across kato-server replicas sharing a real PostgreSQL 15 (docs/SCALING.md):
a subscriber on one replica receives every update caused on the others, in strictly increasing
sequence; a subscriber whose replica is killed resumes on another with resume_after_sequence and
misses nothing; when the bounded update log no longer holds what it asks for it gets one
UPDATE_CAUSE_GAP update with the state now, never a silent hole; deleting the session elsewhere
ends the subscription."""
import os
import queue
import re
import signal
import subprocess
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

    def __init__(self, replica, sid, resume_after=None, send_initial=False):
        self.updates = queue.Queue()
        request = predict_pb2.SubscribePredictionsRequest(session_id=sid, send_initial=send_initial)
        if resume_after is not None:  # set, 0 included: a resume; not set: a new subscription
            request.resume_after_sequence = resume_after
        self.call = replica.predict.SubscribePredictions(request)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for update in self.call:
                self.updates.put(update)
        except grpc.RpcError as e:
            self.updates.put(e)

    def take(self, n, timeout=30):
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
    deadline = time.time() + 30
    while pg.psql(f"SELECT log_until > now() FROM kato_sessions WHERE id = '{sid}'").stdout.strip() != "t":
        assert time.time() < deadline, "the subscription never reached PostgreSQL"
        time.sleep(0.05)


def wait_for_metric(predicate, what, timeout=30):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, f"timed out waiting for {what}"
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



def down_for_seconds(binaries, pg, doomed, writer, sid, seconds=5):
    """Kills `doomed` (-9), observes "during0" and "during1" on the session through `writer` while
    it is down, and `seconds` later starts a replica on its port again; returns that replica."""
    port = doomed.server.address.rsplit(":", 1)[1]
    doomed.server.proc.send_signal(signal.SIGKILL)
    doomed.server.proc.wait()
    doomed.channel.close()
    writer.see(sid, "during0")
    writer.see(sid, "during1")
    time.sleep(seconds)
    return Replica(binaries, pg, "--port", port)


def test_the_python_client_resumes_by_itself_after_its_replica_was_down_for_seconds(binaries, three, pg):
    """The client's own resumption, not a hand-made one: its only replica is killed and comes back
    (same port, same PostgreSQL) five seconds later — longer than the five quick retries (≈3 s)
    the client used to give up after. The subscription resumes after the last sequence it saw and
    yields what was observed meanwhile, in order, then what follows."""
    from kato_client import KatoClient

    a, _, _ = three
    doomed = Replica(binaries, pg)
    sid = a.create("subs-outage", max_pattern_length=0).session_id
    client = KatoClient(doomed.server.address)
    subscription = client.attach(sid).subscribe(send_initial=False)
    updates = queue.Queue()
    threading.Thread(target=lambda: [updates.put(u) for u in subscription], daemon=True).start()
    wait_subscribed(pg, sid)
    a.see(sid, "before")
    first = updates.get(timeout=30)
    back = down_for_seconds(binaries, pg, doomed, a, sid)
    try:
        got = [updates.get(timeout=30) for _ in range(2)]
        a.see(sid, "after")
        got.append(updates.get(timeout=30))
        assert [u.sequence for u in got] == [first.sequence + 1, first.sequence + 2, first.sequence + 3]
        assert [[list(e) for e in u.stm][-1] for u in got] == [["during0"], ["during1"], ["after"]]
        assert subscription.resumed >= 1
    finally:
        subscription.close()
        client.close()
        back.stop()


def test_the_swift_client_resumes_by_itself_after_its_replica_was_down_for_seconds(binaries, three, pg):
    """The same through the Swift client (`kato predict --watch`, KatoSession.subscribe): its
    replica is down for five seconds; the watch prints every update, in sequence, across it."""
    a, _, _ = three
    doomed = Replica(binaries, pg)
    sid = a.create("subs-outage-swift", max_pattern_length=0).session_id
    watch = subprocess.Popen([str(binaries / "kato"), "predict", "--session", sid, "--watch", "--max-updates", "5",
                              "--no-clear"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "KATO_SERVER": doomed.server.address})
    back = None
    try:
        first = watch.stdout.readline()
        assert "(initial)" in first, "the watch did not print the state at subscription"
        wait_subscribed(pg, sid)
        a.see(sid, "before")
        back = down_for_seconds(binaries, pg, doomed, a, sid)
        a.see(sid, "after")
        out, err = watch.communicate(timeout=60)
        out = first + out
        assert watch.returncode == 0, err
    finally:
        watch.kill()
        if back:
            back.stop()
    updates = re.findall(r"update #(\d+) \((\w+)\)", out)
    assert [(int(n), cause) for n, cause in updates] == [(0, "initial")] + [(i, "observe") for i in range(1, 5)], out
    assert "STM: [before] [during0] [during1] [after]" in out, out


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



def test_a_resume_after_sequence_0_replays_the_log_from_the_first_update(three, pg):
    """A subscriber that saw only a new session's initial state (sequence 0) and lost its
    replica resumes after 0: it gets updates 1, 2, 3 from the log — not the state now as a new
    INITIAL, which would hide them. (0 is a sequence; only an unset field means a new
    subscription.)"""
    a, b, _ = three
    sid = a.create("subs-after-0", max_pattern_length=0).session_id
    first = Subscriber(a, sid, send_initial=True)
    assert [u.sequence for u in first.take(1)] == [0]
    wait_subscribed(pg, sid)
    for i in range(3):
        a.see(sid, f"e{i}")
    first.cancel()
    resumed = Subscriber(b, sid, resume_after=0)
    got = resumed.take(3)
    resumed.cancel()
    assert [(u.sequence, u.cause) for u in got] == [(1, OBSERVE), (2, OBSERVE), (3, OBSERVE)]

def test_deleting_the_session_on_another_replica_ends_the_subscription(three, pg):
    a, b, _ = three
    sid = a.create("subs-4").session_id
    sub = Subscriber(b, sid)
    wait_subscribed(pg, sid)
    a.sessions.DeleteSession(session_pb2.DeleteSessionRequest(session_id=sid))
    with pytest.raises(grpc.RpcError) as e:
        sub.take(1)
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
        # Observe only once the server holds the up-to-date resume (nothing to send it before "d"):
        # a resume registered after "d" missed an update and would get a GAP instead.
        from cluster_support import metric
        admin = replica.server.admin()
        wait_for_metric(lambda: metric(admin, "kato_subscribers_active") == 0, "the cancelled subscription to end")
        up_to_date = Subscriber(replica, sid, resume_after=3)
        wait_for_metric(lambda: metric(admin, "kato_subscribers_active") == 1, "the resume to be registered")
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
