"""Three kato-server replicas on one PostgreSQL behind HAProxy (deploy/haproxy.cfg, per-call
round-robin), as `make cluster` runs them: the golden cases replayed through the load balancer
with their calls spread over the replicas give KATO's answers; concurrent learns of one pattern
through all replicas are each counted; scripts/cluster starts everything and stops it on Ctrl-C."""
import os
import pathlib
import signal
import subprocess
import threading
import time

import grpc
import pytest

from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, predict_pb2, predict_pb2_grpc, session_pb2, session_pb2_grpc

from cluster_support import Cluster
from conftest import ROOT
from kato_golden import GoldenRunner, load_cases


@pytest.fixture(scope="module")
def cluster(binaries):
    c = Cluster(binaries)
    yield c
    c.destroy()


def test_every_golden_case_gives_katos_answers_with_its_calls_spread_over_three_replicas(cluster):
    before = cluster.handled()
    cases = load_cases()
    failures = []
    with grpc.insecure_channel(cluster.address) as channel:
        runner = GoldenRunner(channel)
        for case in cases:
            failure = runner.run_case(case)
            if failure:
                failures.append(f"{case['id']}: {failure}")
    assert not failures, "\n".join(failures[:10])
    spread = [after - b for after, b in zip(cluster.handled(), before)]
    # Round-robin per call: every replica served about a third of the calls.
    total = sum(spread)
    assert total > 3 * len(cases), spread
    assert all(n > total / 6 for n in spread), spread


def test_concurrent_learns_of_one_pattern_through_three_replicas_are_all_counted(cluster):
    acknowledged = []
    errors = []

    def client():
        try:
            with grpc.insecure_channel(cluster.address) as channel:
                sessions = session_pb2_grpc.SessionServiceStub(channel)
                observe = observe_pb2_grpc.ObserveServiceStub(channel)
                sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="cluster-learns")).session_id
                for _ in range(10):
                    for s in ("x", "y", "z"):
                        observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[s]))
                    observe.Learn(observe_pb2.LearnRequest(session_id=sid))
                    acknowledged.append(1)
        except Exception as e:  # noqa: BLE001 — reported below
            errors.append(e)

    before = cluster.handled()
    threads = [threading.Thread(target=client) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(after > b for after, b in zip(cluster.handled(), before))
    with grpc.insecure_channel(cluster.address) as channel:
        sessions = session_pb2_grpc.SessionServiceStub(channel)
        observe = observe_pb2_grpc.ObserveServiceStub(channel)
        predict = predict_pb2_grpc.PredictServiceStub(channel)
        for _ in range(3):  # the prediction on each replica in turn
            sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="cluster-learns")).session_id
            observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["x"]))
            observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=["y"]))
            predictions = predict.GetPredictions(predict_pb2.GetPredictionsRequest(session_id=sid)).predictions
            assert [p.frequency for p in predictions] == [len(acknowledged)]
    assert cluster.pg.psql("SELECT frequency FROM kb_patterns WHERE node_id = 'cluster-learns'").stdout.strip() == \
        str(len(acknowledged))


def test_scripts_cluster_prints_the_clients_address_serves_and_stops_everything_on_ctrl_c(binaries):
    proc = subprocess.Popen([str(ROOT / "scripts" / "cluster")], env={**os.environ, "KATO_BIN_DIR": str(binaries)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        address = None
        deadline = time.time() + 90
        while time.time() < deadline and address is None:
            line = proc.stdout.readline()
            if not line and proc.poll() is not None:
                pytest.fail(f"scripts/cluster exited: {proc.stderr.read()[-3000:]}")
            if line.startswith("clients: "):
                address = line.split()[1]
        assert address, "scripts/cluster printed no address"
        logs = pathlib.Path(line.split("logs in ", 1)[1].split(";", 1)[0])
        assert logs.is_dir()
        with grpc.insecure_channel(address) as channel:
            sessions = session_pb2_grpc.SessionServiceStub(channel)
            observe = observe_pb2_grpc.ObserveServiceStub(channel)
            sid = sessions.CreateSession(session_pb2.CreateSessionRequest(node_id="cluster-script")).session_id
            for s in ("a", "b", "c"):
                observe.Observe(observe_pb2.ObserveRequest(session_id=sid, strings=[s]))
            stm = observe.GetShortTermMemory(observe_pb2.GetShortTermMemoryRequest(session_id=sid))
            assert [list(e.symbols) for e in stm.events] == [["a"], ["b"], ["c"]]
        # The kato CLI (server reflection, then a call) works through the load balancer unchanged.
        listed = subprocess.run([str(binaries / "kato"), "list", "--server", address], capture_output=True, text=True, timeout=30)
        assert listed.returncode == 0 and "kato.v2.ObserveService" in listed.stdout, listed.stderr
        shown = subprocess.run([str(binaries / "kato"), "stm", "--server", address, "--session", sid],
                               capture_output=True, text=True, timeout=30)
        assert shown.returncode == 0 and shown.stdout.split() == ["[a]", "[b]", "[c]"], (shown.stdout, shown.stderr)
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
        assert proc.wait(timeout=60) is not None
        assert not logs.exists(), "the cluster's temporary directory was left behind"
        # The script's processes exit on their own after its trap: polled, not assumed after 0.5 s.
        deadline = time.time() + 30
        while True:
            leftover = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
            leftover += subprocess.run(["pgrep", "-f", str(logs)], capture_output=True, text=True).stdout.split()
            if leftover == [] or time.time() > deadline:
                break
            time.sleep(0.1)
        assert leftover == [], f"processes of the cluster still run: {leftover}"
    finally:
        if proc.poll() is None:  # a failure above: stop it the normal way (its trap cleans up)
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_the_python_client_resumes_a_subscription_on_another_replica_when_its_replica_dies(cluster):
    """Last in this module: it kills one of the cluster's replicas."""
    from kato_client import KatoClient, UpdateCause
    from kato_client.errors import Unavailable
    from cluster_support import metric

    received, errors = [], []
    with KatoClient(cluster.address) as client:
        session = client.session("cluster-resume", config={"max_pattern_length": 0})
        subscription = session.subscribe(send_initial=False)

        def collect():
            try:
                for update in subscription:
                    received.append(update)
            except Exception as e:  # noqa: BLE001 — reported below
                errors.append(e)

        reader = threading.Thread(target=collect, daemon=True)
        reader.start()
        deadline = time.time() + 30
        holders = []
        while not holders:  # the replica HAProxy gave the stream to
            holders = [r for r in cluster.replicas if metric(r.admin(), "kato_subscribers_active") >= 1]
            assert time.time() < deadline, "no replica reports the subscription"
            time.sleep(0.1)
        acknowledged = 0

        def observe(symbol):
            nonlocal acknowledged
            for _ in range(300):  # 30 s: calls HAProxy sent to the dead replica before its health check failed
                try:
                    session.observe(symbol)
                    acknowledged += 1
                    return
                except Unavailable:
                    time.sleep(0.1)
            raise AssertionError("observe never succeeded")

        for i in range(5):
            observe(f"before{i}")
        holders[0].proc.send_signal(signal.SIGKILL)
        holders[0].proc.wait()
        for i in range(5):
            observe(f"after{i}")
        deadline = time.time() + 30
        while len(received) < acknowledged and not errors and time.time() < deadline:
            time.sleep(0.05)
        subscription.close()
        reader.join(5)
    assert not errors, errors
    assert [u.sequence for u in received] == list(range(1, acknowledged + 1))
    assert all(u.cause == UpdateCause.OBSERVE for u in received)
    assert subscription.resumed >= 1


def test_the_asyncio_client_resumes_a_subscription_on_another_replica_when_its_replica_dies(cluster):
    """After the test above: it kills a second replica (one is left)."""
    import asyncio

    from kato_client import UpdateCause
    from kato_client.aio import AsyncKatoClient
    from kato_client.errors import Unavailable
    from cluster_support import metric

    async def main():
        async with AsyncKatoClient(cluster.address, timeout=30) as client:
            session = await client.session("cluster-resume-aio", config={"max_pattern_length": 0})
            subscription = session.subscribe(send_initial=False)
            received = []

            async def collect():
                async for update in subscription:
                    received.append(update)

            reader = asyncio.ensure_future(collect())
            alive = [r for r in cluster.replicas if r.proc.poll() is None]
            holders = []
            for _ in range(300):
                holders = [r for r in alive if metric(r.admin(), "kato_subscribers_active") >= 1]
                if holders:
                    break
                await asyncio.sleep(0.1)
            assert holders, "no replica reports the subscription"
            acknowledged = 0

            async def observe(symbol):
                nonlocal acknowledged
                for _ in range(300):  # 30 s, as above
                    try:
                        await session.observe(symbol)
                        acknowledged += 1
                        return
                    except Unavailable:
                        await asyncio.sleep(0.1)
                raise AssertionError("observe never succeeded")

            for i in range(4):
                await observe(f"before{i}")
            holders[0].proc.send_signal(signal.SIGKILL)
            holders[0].proc.wait()
            for i in range(4):
                await observe(f"after{i}")
            for _ in range(600):
                if len(received) >= acknowledged or reader.done():
                    break
                await asyncio.sleep(0.05)
            subscription.close()
            await asyncio.wait_for(reader, 10)
            assert [u.sequence for u in received] == list(range(1, acknowledged + 1))
            assert all(u.cause == UpdateCause.OBSERVE for u in received)
            assert subscription.resumed >= 1

    asyncio.run(asyncio.wait_for(main(), 150))


def test_kill_9_of_a_replica_under_learn_and_subscribe_load_loses_no_acknowledged_learn_and_no_update(binaries):
    """Two writers learn through HAProxy while a subscriber follows one writer's session; one
    replica is killed mid-way. Every acknowledged learn is in PostgreSQL and on the survivors,
    the subscriber (Python client, resuming) saw every acknowledged update once, in order, and
    `kato-server verify --postgres` passes."""
    from kato_client import KatoClient
    from kato_client.errors import KatoError

    c = Cluster(binaries)
    try:
        acknowledged = {"w0": 0, "w1": 0}
        observed = []
        received, errors = [], []
        stop = threading.Event()
        with KatoClient(c.address, timeout=10) as client:
            watched = client.session("kill-load", config={"max_pattern_length": 0})
            subscription = watched.subscribe(send_initial=False)

            def follow():
                try:
                    for update in subscription:
                        received.append(update.sequence)
                except Exception as e:  # noqa: BLE001 — reported below
                    errors.append(e)

            def writer(name, session):
                while not stop.is_set():
                    try:
                        session.observe(f"{name}-a")
                        session.observe(f"{name}-b")
                        if session is watched:
                            observed.append(2)  # two updates acknowledged
                        session.learn()
                        if session is watched:
                            observed.append(1)
                        acknowledged[name] += 1
                    except KatoError:
                        # A call routed to the dying replica failed (it may have committed or
                        # not): start the pattern over from an empty STM.
                        for _ in range(100):
                            try:
                                session.clear_stm()
                                if session is watched:
                                    observed.append(1)
                                break
                            except KatoError:
                                time.sleep(0.1)

            threading.Thread(target=follow, daemon=True).start()
            deadline = time.time() + 30  # the subscription is registered before the first write
            while c.pg.psql(f"SELECT log_until > now() FROM kato_sessions WHERE id = '{watched.session_id}'").stdout.strip() != "t":
                assert time.time() < deadline, "the subscription never reached PostgreSQL"
                time.sleep(0.05)
            writers = [threading.Thread(target=writer, args=("w0", watched)),
                       threading.Thread(target=writer, args=("w1", client.session("kill-load")))]
            for t in writers:
                t.start()
            time.sleep(3)
            victim = c.replicas[1]
            victim.proc.send_signal(signal.SIGKILL)
            victim.proc.wait()
            time.sleep(3)
            stop.set()
            for t in writers:
                t.join(30)
            total = sum(acknowledged.values())
            assert acknowledged["w0"] > 0 and acknowledged["w1"] > 0, acknowledged
            # PostgreSQL holds every acknowledged learn (a learn that failed may have committed too: >=).
            frequencies = c.pg.psql("SELECT name, frequency FROM kb_patterns WHERE node_id = 'kill-load' ORDER BY name").stdout
            counted = sum(int(line.split("|")[1]) for line in frequencies.split())
            assert counted >= total, (frequencies, acknowledged)
            # The survivors predict with the same frequencies.
            for replica in (c.replicas[0], c.replicas[2]):
                with KatoClient(replica.address) as direct:
                    s = direct.session("kill-load")
                    s.observe("w0-a")
                    s.observe("w0-b")
                    freq = [p.frequency for p in s.predictions()]
                    assert freq and freq[0] >= acknowledged["w0"], (freq, acknowledged)
            deadline = time.time() + 30
            while len(received) < sum(observed) and time.time() < deadline:
                time.sleep(0.05)
            subscription.close()
        assert not errors, errors
        # Every update of the watched session, once, in order (failed calls change nothing).
        assert received == list(range(1, len(received) + 1)) and len(received) >= sum(observed), (len(received), sum(observed))
        r = subprocess.run([str(binaries / "kato-server"), "verify", "--postgres", c.pg.url()],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
    finally:
        c.destroy()
