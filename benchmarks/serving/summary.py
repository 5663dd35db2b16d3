#!/usr/bin/env python3
"""Markdown summary of benchmarks/serving/run.sh's results.jsonl (medians over rounds)."""
import json, statistics, sys, collections

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = collections.defaultdict(list)
for r in rows:
    by[(r["part"], r["server"])].append(dict(r["result"], load=r.get("load", "?").split(" ")[0]))
med = lambda part, server, key: statistics.median(x[key] for x in by[(part, server)] if key in x)
out = []
P = out.append

for r in by[("sessions", "kato")]:
    P("| live sessions | RSS after create | bytes per session | create/s | server CPU per create | observe/s | observe p50 / p99 | server CPU per observe | RSS after observes |")
    P("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in r["checkpoints"]:
        P("| %s | %.0f MiB | %.0f | %s | %.0f µs | %s | %.2f / %.2f ms | %.0f µs | %.0f MiB |" % (
            f"{c['sessions']:,}", c["rss_kib_after_create"] / 1024, c["bytes_per_session"], f"{c['create_per_s']:,.0f}",
            c["create_server_cpu_us"], f"{c['observe_per_s']:,.0f}", c["observe_p50_us"] / 1000, c["observe_p99_us"] / 1000,
            c["observe_server_cpu_us"], c["rss_kib_after_observe"] / 1024))
    P("")

# run.sh WRITE_DELAYS: "kato-delay-5ms" etc., ordered by the delay
delays = tuple(sorted({srv for (part, srv) in by if srv.startswith("kato-delay-")}, key=lambda n: float(n[len("kato-delay-"):-2])))
if by[("fanout", "kato")]:
    P("| run | server | updates delivered/s | observe calls/s | delay p50 | delay p99 | missed | server CPU per update | client CPU per update | bytes per subscriber | RSS with subscribers | load |")
    P("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for part in ("fanout", "fanout-stuck"):
        for server in ("kato-before", "kato") + delays:
            for x in by[(part, server)]:
                P("| %s | %s | %s | %s | %.1f ms | %.1f ms | %d | %.1f µs | %s | %.0f | %.0f MiB | %s |" % (
                    part + ("" if x["stuck"] == 0 else " (%d stuck)" % x["stuck"]), server, f"{x['updates_per_s']:,.0f}", f"{x['observe_per_s']:,.0f}",
                    x["delay_p50_us"] / 1000, x["delay_p99_us"] / 1000, x["updates_missed"], x["server_cpu_us_per_update"],
                    "%.1f µs" % x["client_cpu_us_per_update"] if "client_cpu_us_per_update" in x else "—",
                    x["bytes_per_subscriber"], x["rss_kib_subscribed"] / 1024, x["load"]))
    P("")
    P("| server-streaming reference (10,000 streams, 100 connections) | messages/s | server CPU per message | client CPU per message | load |")
    P("|---|---:|---:|---:|---:|")
    for s, name in (("cpp", "C++ gRPC 1.51 echo (callback API)"), ("ours", "grpch2-echo-server")):
        for x in by[("stream", s)]:
            P("| %s, %d B payload | %s | %.1f µs | %s | %s |" % (name, x["payload"], f"{x['messages_per_s']:,.0f}", x["server_cpu_us_per_message"],
                "%.1f µs" % x["client_cpu_us_per_message"] if "client_cpu_us_per_message" in x else "—", x["load"]))
    P("")
    f, c = med("fanout", "kato", "updates_per_s"), med("stream", "cpp", "messages_per_s")
    fs = med("fanout-stuck", "kato", "updates_per_s") if by[("fanout-stuck", "kato")] else float("nan")
    if by[("fanout", "kato-before")]:
        P("Medians of server CPU per update: kato-before %.1f µs, kato %.1f µs; client CPU per update %.1f µs (with kato-before %.1f µs)." % (
            med("fanout", "kato-before", "server_cpu_us_per_update"), med("fanout", "kato", "server_cpu_us_per_update"),
            med("fanout", "kato", "client_cpu_us_per_update"), med("fanout", "kato-before", "client_cpu_us_per_update")))
        P("Medians of updates/s: kato-before %s, kato %s; delay p50 / p99: kato-before %.1f / %.1f ms, kato %.1f / %.1f ms." % (
            f"{med('fanout', 'kato-before', 'updates_per_s'):,.0f}", f"{med('fanout', 'kato', 'updates_per_s'):,.0f}",
            med("fanout", "kato-before", "delay_p50_us") / 1000, med("fanout", "kato-before", "delay_p99_us") / 1000,
            med("fanout", "kato", "delay_p50_us") / 1000, med("fanout", "kato", "delay_p99_us") / 1000))
    if delays:
        P("| `--subscription-write-delay-ms` (medians) | updates delivered/s | server CPU per update | client CPU per update | delay p50 | delay p99 |")
        P("|---|---:|---:|---:|---:|---:|")
        for server in ("kato",) + delays:
            name = "default" if server == "kato" else server[len("kato-delay-"):-2]
            P("| %s | %s | %.1f µs | %.1f µs | %.1f ms | %.1f ms |" % (name, f"{med('fanout', server, 'updates_per_s'):,.0f}",
                med("fanout", server, "server_cpu_us_per_update"), med("fanout", server, "client_cpu_us_per_update"),
                med("fanout", server, "delay_p50_us") / 1000, med("fanout", server, "delay_p99_us") / 1000))
        P("")
    P("Medians: kato fan-out %s updates/s (with stuck subscribers %s), C++ streaming echo %s msgs/s, grpch2 streaming echo %s msgs/s; kato / C++ = %.2fx." % (
        f"{f:,.0f}", f"{fs:,.0f}", f"{c:,.0f}", f"{med('stream', 'ours', 'messages_per_s'):,.0f}", f / c))
    P("")

if by[("latency", "ours")]:
    P("| server (c=1 m=1, 20,000 calls) | p50 per round (µs) | median p50 | median p99 | median rps |")
    P("|---|---|---:|---:|---:|")
    for s, name in (("ours", "grpch2-echo-server"), ("cpp", "C++ gRPC 1.51")):
        xs = by[("latency", s)]
        P("| %s | %s | %.0f | %.0f | %.0f |" % (name, ", ".join(x["p50"] for x in xs), med("latency", s, "p50") if False else statistics.median(float(x["p50"]) for x in xs),
            statistics.median(float(x["p99"]) for x in xs), statistics.median(float(x["rps"]) for x in xs)))
    o = statistics.median(float(x["p50"]) for x in by[("latency", "ours")])
    c = statistics.median(float(x["p50"]) for x in by[("latency", "cpp")])
    P("")
    P("p50 ours / C++ = %.2fx." % (o / c))
print("\n".join(out))
