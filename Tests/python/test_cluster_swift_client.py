"""The Swift client (Sources/KatoClient, `KatoSession.subscribe`, an AsyncThrowingStream) resumes a
subscription through HAProxy on another replica when its replica is killed: the
kato-client-example's `follow` mode prints every update, and the updates before and after the
kill arrive once each, in order, with no gap."""
import signal
import subprocess
import threading
import time

from kato_client import KatoClient
from kato_client.errors import Unavailable

from cluster_support import Cluster, metric

UPDATES = 10


def test_the_swift_client_resumes_a_subscription_on_another_replica_when_its_replica_dies(binaries):
    c = Cluster(binaries)
    follower = None
    try:
        with KatoClient(c.address, timeout=20) as client:
            session = client.session("swift-resume", config={"max_pattern_length": 0})
            follower = subprocess.Popen(
                [str(binaries / "kato-client-example"), c.address, "follow", session.session_id, str(UPDATES)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert follower.stdout.readline().strip() == "subscribed", follower.stderr.read()
            lines = []
            reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
            reader.start()
            deadline = time.time() + 30
            holders = []
            while not holders:  # the replica HAProxy gave the stream to
                holders = [r for r in c.replicas if metric(r.admin(), "kato_subscribers_active") >= 1]
                assert time.time() < deadline, "no replica reports the Swift client's subscription"
                time.sleep(0.1)
            acknowledged = 0

            def observe(symbol):
                nonlocal acknowledged
                for _ in range(300):  # 30 s: calls HAProxy sent to the dead replica before its check failed
                    try:
                        session.observe(symbol)
                        acknowledged += 1
                        return
                    except Unavailable:
                        time.sleep(0.1)
                raise AssertionError("observe never succeeded")

            for i in range(UPDATES // 2):
                observe(f"before{i}")
            holders[0].proc.send_signal(signal.SIGKILL)
            holders[0].proc.wait()
            for i in range(UPDATES - UPDATES // 2):
                observe(f"after{i}")
            assert follower.wait(timeout=30) == 0, follower.stderr.read()
            reader.join(5)
        assert acknowledged == UPDATES
        assert lines == [f"update {n} observe\n" for n in range(1, UPDATES + 1)], lines
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
            follower.wait()
        c.destroy()
