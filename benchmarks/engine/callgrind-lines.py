#!/usr/bin/env python3
"""Self instructions of one function per source line, from a callgrind profile taken with --dump-instr=yes.

valgrind 3.19 cannot read the DWARF 5 line tables of a Swift 6 binary, so callgrind.sh profiles a copy
without debug info; this maps each instruction address back to its line (innermost frame that has a
real line; INL=1 prints the inlining chain) with llvm-symbolizer on the unstripped binary.

  SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file=cg.out \\
      --toggle-collect='*predictionQuery*' <stripped copy> --bench 10000
  benchmarks/engine/callgrind-lines.py cg.out .build-engine/release/kato-conformance scoreRange 40 [queries]

Prints instructions per query (divided by `queries`, default 100) per source line, largest first.
"""
import collections, os, re, subprocess, sys

path, binary = sys.argv[1], sys.argv[2]
fnfilter = sys.argv[3] if len(sys.argv) > 3 else None
top = int(sys.argv[4]) if len(sys.argv) > 4 else 40
queries = int(sys.argv[5]) if len(sys.argv) > 5 else 100
inline = os.environ.get("INL") == "1"

costs = collections.Counter()
names = {}
cur_fn = cur_ob = None
last = 0
skip_next = False


def position(tok, last):
    if tok.startswith("0x"):
        return int(tok, 16)
    if tok.startswith("+"):
        return last + int(tok[1:])
    if tok.startswith("-"):
        return last - int(tok[1:])
    if tok == "*":
        return last
    return int(tok)


for line in open(path):
    line = line.rstrip("\n")
    if not line:
        continue
    m = re.match(r"(c?)(fn|ob)=\((\d+)\)(?: (.*))?", line)
    if m:
        called, kind, num, name = m.groups()
        if name:
            names[kind + num] = name
        if not called:
            if kind == "fn":
                cur_fn = names.get(kind + num)
            else:
                cur_ob = kind + num
        continue
    if line.startswith("calls="):
        skip_next = True  # the next line is the call's inclusive cost, not this function's own
        continue
    if line[0].isdigit() or line[0] in "+-*":
        parts = line.split()
        pos = position(parts[0], last)
        last = pos
        if skip_next:
            skip_next = False
            continue
        if fnfilter and (cur_fn is None or fnfilter not in cur_fn):
            continue
        if os.path.basename(binary) not in names.get(cur_ob, "") and "kato-conformance" not in names.get(cur_ob, ""):
            continue
        if len(parts) > 2:
            costs[pos] += int(parts[2])

addrs = sorted(costs)
out = subprocess.run(
    ["llvm-symbolizer", "--obj=" + binary, "--functions=none", "--inlining"],
    input="\n".join(hex(a) for a in addrs), capture_output=True, text=True).stdout.strip().split("\n\n")
by_line = collections.Counter()
for a, s in zip(addrs, out):
    frames = [re.sub(r"^.*/Sources/", "", f) for f in s.strip().split("\n")]
    loc = next((f for f in frames if "compiler-generated" not in f and ":0:" not in f), frames[0])
    if inline:
        loc = " <- ".join(frames[:3])
    by_line[loc] += costs[a]
print(f"total {sum(costs.values()) / queries:.0f} instructions per query")
for loc, c in by_line.most_common(top):
    print(f"{c / queries:10.0f}  {loc}")
