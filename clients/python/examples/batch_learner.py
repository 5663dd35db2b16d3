#!/usr/bin/env python3
"""Batch learner: learns sequences into a kato node and prints each learned pattern's name.

Each sequence is observed with one ObserveSequence call (learn_at_end), in a fresh session
that is deleted at the end; the patterns stay in the node's knowledge base. Finally the
first events of the first sequence are observed again to show what kato predicts next.

Input: a small built-in data set, or --file with one sequence per line: events separated
by spaces, the symbols of one event by commas (`a b,c d`); blank lines and `#` comments
are skipped.

    python batch_learner.py --target 127.0.0.1:50051 --node demo
    python batch_learner.py --file sequences.txt --node demo
"""
from __future__ import annotations

import argparse
import sys
from typing import List

from kato_client import KatoClient, KatoError

Sequence = List[List[str]]

BUILT_IN: List[Sequence] = [
    [["wake"], ["coffee"], ["email"], ["meeting"]],
    [["wake"], ["run"], ["shower"], ["coffee"]],
    [["rain"], ["umbrella"], ["bus"], ["office"]],
    [["sun"], ["bike"], ["office"]],
    [["coffee"], ["email"], ["lunch"]],
]


def read_sequences(path: str) -> List[Sequence]:
    sequences = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                sequences.append([[s for s in event.split(",") if s] for event in line.split()])
    return sequences


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:50051", help="server host:port")
    parser.add_argument("--node", default="batch-learner", help="node whose knowledge base learns the sequences")
    parser.add_argument("--file", help="sequences file (default: a small built-in data set)")
    parser.add_argument("--api-key", help="sent as 'authorization: Bearer <key>'")
    parser.add_argument("--timeout", type=float, default=30.0, help="deadline of each call, seconds")
    args = parser.parse_args(argv)

    sequences = read_sequences(args.file) if args.file else BUILT_IN
    try:
        with KatoClient(args.target, api_key=args.api_key, timeout=args.timeout) as client, \
                client.session(node_id=args.node) as session:
            names = []
            for seq in sequences:
                result = session.observe_sequence(seq, learn_at_end=True)
                name = result.final_learned_pattern or "(nothing learned: fewer than two symbols)"
                names.append(name)
                print(f"learned {name}  <- {' '.join(','.join(e) for e in seq)}", flush=True)
            print(f"{len(names)} sequences, {len(set(n for n in names if n.startswith('PTRN|')))} distinct patterns "
                  f"on node {args.node!r}")

            probe = sequences[0][:2]
            for event in probe:
                session.observe(strings=event)
            predictions = session.predictions()
            print(f"after {' '.join(','.join(e) for e in probe)}: {len(predictions)} predictions")
            for p in predictions[:3]:
                future = " ".join(",".join(e) for e in p.future) or "(end)"
                print(f"  {p.pattern_name} future={future} potential={p.potential:.3f}")
    except KatoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
