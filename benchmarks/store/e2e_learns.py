import sys, threading, time, random, subprocess, tempfile, shutil
sys.path.insert(0, "clients/python")
import grpc
from kato_client._pb.kato.v2 import observe_pb2, observe_pb2_grpc, types_pb2
binary, threads_n, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
data_dir = tempfile.mkdtemp()
p = subprocess.Popen([binary, "--port", "0", "--data-dir", data_dir, "--log-level", "warning", "--access-log-level", "off"], stdout=subprocess.PIPE, text=True)
addr = p.stdout.readline().split("listening on ")[1].strip()
count = [0]; lock = threading.Lock(); stop = time.time() + seconds
def run(k):
    rng = random.Random(k); n = 0
    with grpc.insecure_channel(addr) as ch:
        stub = observe_pb2_grpc.ObserveServiceStub(ch)
        while time.time() < stop:
            stub.ObserveSequence(observe_pb2.ObserveSequenceRequest(node_id="bench", learn_at_end=True,
                observations=[types_pb2.Observation(strings=[f"s{rng.randrange(10000)}", f"s{rng.randrange(10000)}"]) for _ in range(3)]))
            n += 1
    with lock: count[0] += n
ts = [threading.Thread(target=run, args=(k,)) for k in range(threads_n)]
t0 = time.time(); [t.start() for t in ts]; [t.join() for t in ts]
print(f"{threads_n} client threads: {count[0] / (time.time() - t0):.0f} durable learns/s end to end (ObserveSequence of 3 events + learn_at_end)")
p.terminate(); p.wait()
shutil.rmtree(data_dir, ignore_errors=True)
