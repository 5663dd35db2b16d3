"""Subscribers while PostgreSQL is down (docs/SCALING.md, "When PostgreSQL is unavailable"):
three replicas behind HAProxy, a writer observing one session through HAProxy, subscribers to
that session on every replica (grpcio, direct) and one through HAProxy (the Python client's
Subscription). PostgreSQL is stopped for a few seconds and started again. Specified:
- a subscription that is open stays open (no error, no end) while PostgreSQL is down: no update
  can happen (a call that would make one fails UNAVAILABLE: it was not stored);
- a new subscription (or a resumption) while it is down fails fast with UNAVAILABLE and a reason
  (ErrorInfo DATABASE_ERROR, CIRCUIT_OPEN), never hangs and never opens a stream that misses
  updates;
- after PostgreSQL returns, every subscriber receives every update the cluster committed, once,
  in sequence order, with no hole and no gap marker (the bounded log held them): each
  acknowledged observe is in exactly one update, and nothing that was not committed."""
import queue
import threading
import time

import grpc

from kato_client import KatoClient
from kato_client.errors import KatoError
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc

from cluster_support import Cluster

OBSERVE = predict_pb2.UPDATE_CAUSE_OBSERVE
REASONS = {"DATABASE_ERROR": "PostgreSQL", "CIRCUIT_OPEN": "circuit breaker is open"}
FAIL_FAST = 10  # seconds (PostgreSQL's operation bound is 3 s)
# Seconds without PostgreSQL: within them a replica must see it down and refuse a new
# subscription (PostgreSQL's operation bound is 3 s), which a loaded machine can stretch past 5 s.
OUTAGE = 10


class Stream:
    """A grpcio SubscribePredictions stream in a thread: updates and its end land in a queue."""

    def __init__(self, address, sid):
        self.channel = grpc.insecure_channel(address)
        self.call = predict_pb2_grpc.PredictServiceStub(self.channel).SubscribePredictions(
            predict_pb2.SubscribePredictionsRequest(session_id=sid))
        self.items = queue.Queue()
        self.updates = []
        self.ended = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            for u in self.call:
                self.items.put(u)
        except grpc.RpcError as e:
            self.items.put(e)

    def drain(self):
        while True:
            try:
                item = self.items.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, grpc.RpcError):
                self.ended = item
            else:
                self.updates.append(item)

    def close(self):
        self.call.cancel()
        self.channel.close()


class ClientStream:
    """The Python client's Subscription through HAProxy, iterated in a thread."""

    def __init__(self, session):
        self.subscription = session.subscribe(send_initial=False)
        self.updates = []
        self.ended = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        try:
            for u in self.subscription:
                self.updates.append(u)
        except Exception as e:  # noqa: BLE001 — asserted below
            self.ended = e

    def drain(self):
        pass

    def close(self):
        self.subscription.close()


class Writer:
    """Observes w0, w1, … through HAProxy; records which were acknowledged and which failed."""

    def __init__(self, address, sid):
        self.address, self.sid = address, sid
        self.acknowledged, self.failed = [], []
        self.acknowledged_at = []

    def run(self, stop):
        with grpc.insecure_channel(self.address) as channel:
            observe = observe_pb2_grpc.ObserveServiceStub(channel)
            i = 0
            while not stop.is_set():
                symbol = f"w{i}"
                i += 1
                try:
                    observe.Observe(observe_pb2.ObserveRequest(session_id=self.sid, strings=[symbol]), timeout=30)
                    self.acknowledged.append(symbol)
                    self.acknowledged_at.append(time.time())
                    time.sleep(0.02)
                except grpc.RpcError:
                    self.failed.append(symbol)
                    time.sleep(0.1)


def symbol_of(update):
    """The observation an update reports: the last event of its STM."""
    last = update.stm[-1]
    return last.symbols[0] if hasattr(last, "symbols") else last[0]  # protobuf Event, or the client's list


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, what()
        time.sleep(0.05)


def test_subscribers_keep_their_streams_while_postgres_is_down_and_receive_every_committed_update_after(binaries):
    c = Cluster(binaries, extra=("--store-breaker-reset-seconds", "2"))
    streams = []
    stop = threading.Event()  # set however the test ends: a writer thread left running hangs pytest
    try:
        client = KatoClient(c.address, timeout=20)
        session = client.session("subs-outage", config={"max_pattern_length": 0})
        sid = session.session_id
        streams = [Stream(r.address, sid) for r in c.replicas] + [ClientStream(session)]
        # Every subscriber is registered once it received an update made after it subscribed.
        probe = 0

        def all_have_an_update():
            for s in streams:
                s.drain()
            return all(s.updates for s in streams)
        deadline = time.time() + 30
        while not all_have_an_update():
            assert time.time() < deadline, [len(s.updates) for s in streams]
            session.observe(f"probe{probe}")
            probe += 1
            time.sleep(0.3)
        writer = Writer(c.address, sid)
        thread = threading.Thread(target=writer.run, args=(stop,))
        thread.start()
        wait_for(lambda: len(writer.acknowledged) >= 20, 30, lambda: ("the writer made no progress", writer.failed[-3:]))

        c.pg.stop("fast")
        stopped_at = time.time()
        # A subscription made now fails fast with a reason; it does not open a silent stream.
        with grpc.insecure_channel(c.address) as channel:
            predict = predict_pb2_grpc.PredictServiceStub(channel)
            refused = None
            while refused is None and time.time() < stopped_at + OUTAGE:
                started = time.time()
                call = predict.SubscribePredictions(predict_pb2.SubscribePredictionsRequest(session_id=sid), timeout=30)
                try:
                    next(call)
                    call.cancel()  # PostgreSQL not yet seen down by this replica: an update came
                except grpc.RpcError as e:
                    refused, took = KatoError.from_rpc_error(e), time.time() - started
            assert refused is not None, "a subscription made while PostgreSQL was down was never refused"
            assert refused.code == grpc.StatusCode.UNAVAILABLE, refused
            assert refused.reason in REASONS and REASONS[refused.reason] in str(refused), refused
            assert took < FAIL_FAST, (refused, took)
        time.sleep(max(0.0, stopped_at + OUTAGE - time.time()))
        for s in streams:
            s.drain()
        assert all(s.ended is None for s in streams), [str(s.ended)[:300] for s in streams]
        assert writer.failed, "no observe failed while PostgreSQL was down"
        c.pg.start()
        restarted_at = time.time()
        wait_for(lambda: sum(1 for t in writer.acknowledged_at if t > restarted_at) >= 20, 60,
                 lambda: ("the cluster did not recover", writer.failed[-3:]))
        stop.set()
        thread.join(60)

        committed = int(c.pg.psql(f"SELECT sequence FROM kato_sessions WHERE id = '{sid}'").stdout.strip())

        def everyone_caught_up():
            for s in streams:
                s.drain()
            return all(s.updates and s.updates[-1].sequence >= committed for s in streams)
        wait_for(everyone_caught_up, 30,
                 lambda: ("subscribers never received every update", committed, [s.updates[-1].sequence for s in streams]))
        acknowledged, failed = set(writer.acknowledged), set(writer.failed)
        for k, s in enumerate(streams):
            assert s.ended is None, (k, s.ended)
            sequences = [u.sequence for u in s.updates]
            # Every update once, in order, no hole and no gap marker.
            assert sequences == list(range(sequences[0], committed + 1)), (k, sequences)
            assert all(getattr(u.cause, "value", u.cause) == OBSERVE for u in s.updates), (k, {u.cause for u in s.updates})
            seen = [symbol_of(u) for u in s.updates if symbol_of(u).startswith("w")]
            assert len(seen) == len(set(seen)), k
            # Each acknowledged observe is delivered; anything else delivered is an observe whose
            # reply failed after its commit (a lost reply), never one that was not stored.
            assert acknowledged <= set(seen), (k, sorted(acknowledged - set(seen))[:5])
            assert set(seen) - acknowledged <= failed, (k, sorted(set(seen) - acknowledged - failed)[:5])
        client.close()
    finally:
        stop.set()
        for s in streams:
            s.close()
        c.destroy()
