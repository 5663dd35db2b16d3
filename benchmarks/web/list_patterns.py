"""ListPatterns page latency at 10k / 100k / 1M patterns (issue 17: listing stays cheap at 1M —
keyset pages, one pass per page, no full sort). For each size: a data directory filled by
`kato-server bench-store --startup-patterns N` (node "bench", 3 events of 2 symbols from a
10,000-symbol alphabet), a release kato-server on it, and grpcio calls of 50-pattern pages: the
first page of each order, the 20th page (following tokens), a symbol filter and a name prefix.
Prints one Markdown table row per (size, query): median and p90 of REPEAT calls in ms; and the
server's resident memory per pattern (VmRSS / N, from /proc) once loaded, before any browsing
call, and after them (the browsing orders are built by the first call and then maintained).

    python benchmarks/web/list_patterns.py BIN_DIR [SIZES...]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../clients/python"))
from kato_client._pb.kato.v2 import knowledge_pb2, knowledge_pb2_grpc  # noqa: E402

REPEAT = int(os.environ.get("REPEAT", "20"))
ORDERS = {"frequency": knowledge_pb2.PATTERN_ORDER_FREQUENCY_DESC, "name": knowledge_pb2.PATTERN_ORDER_NAME,
          "length": knowledge_pb2.PATTERN_ORDER_LENGTH_DESC, "learn order": knowledge_pb2.PATTERN_ORDER_LEARNED}


def timed(call, repeat=REPEAT):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.9) - 1]


def start_server(bin_dir, data_dir):
    proc = subprocess.Popen([f"{bin_dir}/kato-server", "--port", "0", "--admin-port", "0", "--data-dir", data_dir],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in proc.stdout:
        if line.startswith("listening on "):
            return proc, line.split()[-1]
    raise RuntimeError("kato-server did not start")


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def bench(bin_dir, n):
    with tempfile.TemporaryDirectory() as data:
        subprocess.run([f"{bin_dir}/kato-server", "bench-store", "--data-dir", data, "--startup-patterns", str(n)],
                       check=True, stdout=subprocess.DEVNULL)
        proc, address = start_server(bin_dir, data)
        try:
            with grpc.insecure_channel(address) as channel:
                kb = knowledge_pb2_grpc.KnowledgeBaseServiceStub(channel)
                rss_loaded = rss_bytes(proc.pid)

                def page(**kw):
                    return kb.ListPatterns(knowledge_pb2.ListPatternsRequest(node_id="bench", page_size=50, **kw))
                total = kb.GetKnowledgeBaseStatistics(knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id="bench")).pattern_count
                assert total == n, (total, n)
                rows = []
                for name, order in ORDERS.items():
                    assert len(page(order=order).patterns) == 50
                    rows.append((f"first page, {name}", timed(lambda: page(order=order))))
                token = ""
                for _ in range(19):
                    token = page(order=knowledge_pb2.PATTERN_ORDER_FREQUENCY_DESC, page_token=token).next_page_token
                rows.append(("20th page, frequency (token)",
                             timed(lambda: page(order=knowledge_pb2.PATTERN_ORDER_FREQUENCY_DESC, page_token=token))))
                symbol = page().patterns[0].pattern_data[0].symbols[0]
                rows.append((f"symbol filter ({symbol})", timed(lambda: page(symbol=symbol))))
                rows.append(("name prefix ab", timed(lambda: page(name_prefix="ab"))))
                rows.append(("name prefix ab, by name", timed(lambda: page(name_prefix="ab", order=knowledge_pb2.PATTERN_ORDER_NAME))))
                rows.append(("statistics", timed(lambda: kb.GetKnowledgeBaseStatistics(
                    knowledge_pb2.GetKnowledgeBaseStatisticsRequest(node_id="bench")))))
                rss_browsed = rss_bytes(proc.pid)
                rows.append(("memory: RSS bytes per pattern, loaded / after browsing", (rss_loaded / n, rss_browsed / n)))
                return rows
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main():
    bin_dir = sys.argv[1]
    sizes = [int(s) for s in sys.argv[2:]] or [10_000, 100_000, 1_000_000]
    print("| patterns | query (50 per page) | median ms | p90 ms |")
    print("|---|---|---|---|")
    for n in sizes:
        for name, (median, p90) in bench(bin_dir, n):
            print(f"| {n:,} | {name} | {median:.2f} | {p90:.2f} |", flush=True)


if __name__ == "__main__":
    main()
