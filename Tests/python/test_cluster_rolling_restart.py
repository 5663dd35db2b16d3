"""A rolling restart of the cluster under load (docs/SCALING.md, "Rolling restart"): each of the
three replicas behind HAProxy in turn gets SIGTERM, drains (NOT_SERVING → HAProxy's health check
takes it out within --drain-delay → GOAWAY → in-flight calls finish; subscriptions end with
UNAVAILABLE SERVER_DRAINING) and starts again on the same ports, while grpcio clients call
Observe/Learn/GetPredictions/CreateSession without any retry of their own (grpcio's transparent
retry of a stream the server never processed is the only one) and subscribers follow the writers'
sessions. Zero unary calls fail, every acknowledged learn is counted once, and every subscriber
receives every acknowledged update once, in order, across its resumptions.

`KATO_ROLLING_ROUNDS` (default 1) repeats the whole rolling restart; `make test-cluster-long`
runs 5 rounds."""
import os
import threading
import time

import grpc

from kato_client import KatoClient, UpdateCause
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc

from cluster_support import Cluster, metric

# --drain-delay: HAProxy's check interval (500 ms) × fall (2) = 1 s, four times that: on a loaded
# machine HAProxy's checks run late, and a replica that closes its listener before HAProxy took it
# out of the rotation fails calls.
DRAIN_DELAY = "4"
WRITERS = 3
ROUNDS = int(os.environ.get("KATO_ROLLING_ROUNDS", "1"))


class Load:
    """grpcio unary clients through HAProxy. A call that raises is a failure (nothing retries it)."""

    def __init__(self, address):
        self.address = address
        self.stop = threading.Event()
        self.failures = []
        self.calls = 0
        self.lock = threading.Lock()

    def call(self, method, request):
        try:
            response = method(request, timeout=20)
        except grpc.RpcError as e:
            with self.lock:
                self.failures.append(f"{method._method}: {e.code()} {e.details()}")
            raise
        with self.lock:
            self.calls += 1
        return response

    def writer(self, sid, counts):
        """Observe a, observe b, learn — forever; `counts` holds what was acknowledged."""
        with grpc.insecure_channel(self.address) as channel:
            observe = observe_pb2_grpc.ObserveServiceStub(channel)
            try:
                while not self.stop.is_set():
                    for symbol in ("a", "b"):
                        self.call(observe.Observe, observe_pb2.ObserveRequest(session_id=sid, strings=[symbol]))
                        counts["updates"] += 1
                    self.call(observe.Learn, observe_pb2.LearnRequest(session_id=sid))
                    counts["updates"] += 1
                    counts["learns"] += 1
            except grpc.RpcError:
                pass  # recorded in failures

    def churner(self):
        """Sessions created, used and deleted, each call on whichever replica HAProxy picks."""
        with grpc.insecure_channel(self.address) as channel:
            sessions = session_pb2_grpc.SessionServiceStub(channel)
            observe = observe_pb2_grpc.ObserveServiceStub(channel)
            predict = predict_pb2_grpc.PredictServiceStub(channel)
            try:
                while not self.stop.is_set():
                    sid = self.call(sessions.CreateSession, session_pb2.CreateSessionRequest(node_id="rolling-0")).session_id
                    self.call(observe.Observe, observe_pb2.ObserveRequest(session_id=sid, strings=["a"]))
                    self.call(predict.GetPredictions, predict_pb2.GetPredictionsRequest(session_id=sid))
                    self.call(sessions.DeleteSession, session_pb2.DeleteSessionRequest(session_id=sid))
            except grpc.RpcError:
                pass


def test_rolling_restart_of_three_replicas_under_load_fails_no_call_and_loses_no_learn_or_update(binaries):
    c = Cluster(binaries, extra=("--drain-delay", DRAIN_DELAY))
    try:
        load = Load(c.address)
        counts = [{"learns": 0, "updates": 0} for _ in range(WRITERS)]
        received = [[] for _ in range(WRITERS)]
        errors = []
        with KatoClient(c.address, timeout=20) as client:
            sessions = [client.session(f"rolling-{k}", config={"max_pattern_length": 0}) for k in range(WRITERS)]
            subscriptions = [s.subscribe(send_initial=False) for s in sessions]

            def follow(k):
                try:
                    for update in subscriptions[k]:
                        received[k].append((update.sequence, update.cause))
                except Exception as e:  # noqa: BLE001 — reported below
                    errors.append(f"subscriber {k}: {e!r}")

            for k in range(WRITERS):
                threading.Thread(target=follow, args=(k,), daemon=True).start()
            deadline = time.time() + 30  # every subscription registered before the first write
            while sum(metric(r.admin(), "kato_subscribers_active") for r in c.replicas) < WRITERS:
                assert time.time() < deadline, "the subscriptions never registered"
                time.sleep(0.05)
            threads = [threading.Thread(target=load.writer, args=(s.session_id, counts[k])) for k, s in enumerate(sessions)]
            threads.append(threading.Thread(target=load.churner))
            for t in threads:
                t.start()
            time.sleep(1)
            statuses = []
            for _ in range(ROUNDS):
                for i in range(len(c.replicas)):
                    calls_before = load.calls
                    statuses.append(c.restart(i, abort=lambda: load.failures))
                    assert not load.failures, load.failures[:5]
                    assert load.calls > calls_before, "the load stalled during the restart"
            time.sleep(1)
            load.stop.set()
            for t in threads:
                t.join(30)
            print(f"rolling restart: {load.calls} calls, {counts}, resumed {[s.resumed for s in subscriptions]}")
            assert not load.failures, f"{len(load.failures)} failed calls: {load.failures[:5]}"
            assert statuses == [0] * (3 * ROUNDS), statuses
            # Every acknowledged update reached each subscriber once, in order, across resumptions.
            deadline = time.time() + 30
            while any(len(received[k]) < counts[k]["updates"] for k in range(WRITERS)) and time.time() < deadline:
                time.sleep(0.05)
            for s in subscriptions:
                s.close()
            assert not errors, errors
            for k in range(WRITERS):
                assert all(cause != UpdateCause.GAP for _, cause in received[k]), f"subscriber {k} got a gap marker"
                assert [seq for seq, _ in received[k]] == list(range(1, counts[k]["updates"] + 1)), \
                    (k, len(received[k]), counts[k])
            assert all(sub.resumed >= 1 for sub in subscriptions)  # each lived through its replica's drain
        # Every acknowledged learn, counted exactly once, in PostgreSQL and on every replica.
        for k in range(WRITERS):
            assert counts[k]["learns"] > 0
            stored = c.pg.psql(f"SELECT frequency FROM kb_patterns WHERE node_id = 'rolling-{k}'").stdout.split()
            assert stored == [str(counts[k]["learns"])], (k, stored, counts[k])
            for replica in c.replicas:
                with KatoClient(replica.address) as direct:
                    s = direct.session(f"rolling-{k}")
                    s.observe("a")
                    s.observe("b")
                    assert [p.frequency for p in s.predictions()] == [counts[k]["learns"]], (k, replica.address)
    finally:
        c.destroy()
