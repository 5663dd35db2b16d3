#!/usr/bin/env python3
"""Alternates two `kato-conformance` binaries on the engine benchmark and compares their CPU time.

    benchmarks/engine/alternate.py BEFORE_BIN AFTER_BIN N CONSUMER ROUNDS

Each round runs both (the order flips every round), each run in its own autogroup at nice −20
(`setsid -w bash -c 'echo -20 > /proc/self/autogroup; exec BIN --bench N --markdown --consumer C'`;
needs root for −20, as the docs' measurements were made), and reads the CPU-time column's p50 / p99.
Prints the medians over the rounds and in how many rounds AFTER's p50 was lower: on this noisy
machine the ratio and the pair count are what counts, not the absolute numbers.
"""
import statistics
import subprocess
import sys


def run(binary: str, n: str, consumer: str) -> tuple[float, float]:
    script = f"echo -20 > /proc/self/autogroup; exec {binary} --bench {n} --markdown --consumer {consumer}"
    out = subprocess.run(["setsid", "-w", "bash", "-c", script], capture_output=True, text=True, check=True).stdout
    cols = [c.strip() for c in out.strip().splitlines()[-1].split("|")]
    p50, p99 = (float(x) for x in cols[5].split("/"))  # | N | learn | observe | wall | CPU | …
    return p50, p99


def main() -> None:
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    before, after, n, consumer, rounds = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
    results: dict[str, list[tuple[float, float]]] = {before: [], after: []}
    for i in range(rounds):
        for binary in (before, after) if i % 2 == 0 else (after, before):
            results[binary].append(run(binary, n, consumer))
    b, a = results[before], results[after]
    lower = sum(1 for x, y in zip(b, a) if y[0] < x[0])
    med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
    print(f"N={n} consumer={consumer} rounds={rounds}: before p50 {med(b, 0):.4f} p99 {med(b, 1):.3f} | "
          f"after p50 {med(a, 0):.4f} p99 {med(a, 1):.3f} | after lower in {lower} of {rounds}")


if __name__ == "__main__":
    main()
