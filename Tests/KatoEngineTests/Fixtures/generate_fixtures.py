#!/usr/bin/env python3
"""Generates the reference fixtures the KatoEngine unit tests compare against.

Run from this directory:  python3 generate_fixtures.py
Needs numpy (any 2.x: the default float printing is unchanged since 1.14). Deterministic (seeded).
Outputs:
  numpy_array_str.json  vectors (as exact float64 hex and as numbers) -> str(np.array(v)) and VCTR| name
  python_repr.json      lists of lists of str -> repr(...) and PTRN| sha1
  python_float_repr.json floats -> repr(float)
  difflib_blocks.json   (a, b) int sequences -> SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()
  lcs.json              (a, b) strings -> LCS length (plain DP) for the bit-parallel LCS
"""
import difflib
import hashlib
import json
import math
import random
import struct

import numpy as np

rng = random.Random(20240607)


def fhex(x):
    return struct.pack('>d', x).hex()


def rand_float():
    kind = rng.randrange(9)
    if kind == 0:
        return float(rng.randint(-1000, 1000))
    if kind == 1:
        return rng.uniform(-1, 1)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return rng.choice([0.0, -0.0, 0.5, 0.25, 1e-5, 1e-4, 9.9999e-5, 1e8, 99999999.99, 1e16, 1e-300, 5e-324, 1.7976931348623157e308])
    if kind == 4:
        return round(rng.uniform(-100, 100), rng.randrange(0, 10))
    if kind == 5:
        return rng.uniform(-1, 1) * 10 ** rng.randint(-30, 30)
    if kind == 6:
        return struct.unpack('>d', struct.pack('>Q', rng.getrandbits(64)))[0]
    if kind == 7:
        return rng.randint(1, 99999999) / 10 ** rng.randint(0, 9)
    return 0.123456785 + rng.randint(-5, 5) * 1e-9


cases = [[1.0, 2.0, 3.0], [0.5, 0.25], [0.1, 0.2, 0.3], [4.0, 6.0], [-1.5, 1e-05, 123456.789, 0.0],
         [0.0, -0.0], [0.999999999], [1.0 / 3, 2.0 / 3], [12345678.9, 1.5], [1e100, 1.0], [1.0] * 30,
         [float(i) / 7 for i in range(1200)], [float(i) for i in range(1001)], [float(i) for i in range(1000)],
         [float('inf'), 1.0], [-float('inf'), 0.5], [0.0] * 3, [1e-4, 0.1], [1e8 - 1, 1.0]]
for _ in range(600):
    n = rng.choice([1, 1, 2, 3, 4, 5, 8, 12, 20, 40])
    vals = [rand_float() for _ in range(n)]
    vals = [v for v in vals if math.isfinite(v)] or [1.0]
    cases.append(vals)
out = []
for vals in cases:
    text = str(np.array(vals, dtype=np.float64))
    out.append({"hex": [fhex(v) for v in vals], "text": text,
                "name": "VCTR|" + hashlib.sha1(text.encode()).hexdigest()})
json.dump(out, open('numpy_array_str.json', 'w'), indent=0)

alphabet = ["a", "b", "'", '"', "\\", "\t", "\n", "\r", "\x00", "\x7f", "\x85", "\xa0", "\xad", "é", "日本",
            "😀", "\u2028", "\u3000", "\ue000", "\U000e0001", "\u0378", "\u200b", " ", "x y", "\U0001F9CC", "\u0c5d"]
reprs = []
fixed = [[["hello"], ["world"]], [["a", "b"], ["c"]], [["A"], ["B"], ["C"]], [["a"], ["b"], ["c"]],
         [["it's"], ["x"]], [["both'\""], ["q"]], [[""], ["a"]]]
for events in fixed:
    r = repr(events)
    reprs.append({"events": events, "repr": r, "name": "PTRN|" + hashlib.sha1(r.encode()).hexdigest()})
for _ in range(300):
    events = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4))) for _ in range(rng.randint(1, 3))]
              for _ in range(rng.randint(1, 3))]
    r = repr(events)
    reprs.append({"events": events, "repr": r, "name": "PTRN|" + hashlib.sha1(r.encode()).hexdigest()})
json.dump(reprs, open('python_repr.json', 'w'), indent=0, ensure_ascii=False)

floats = [0.0, -0.0, 1.0, 1.5, 0.1, 1e-5, 1e-4, 1e16, 1e15, 123456789012345678.0, 5e-324, 1.7976931348623157e308, 0.6000000000000001]
floats += [rand_float() for _ in range(400)]
json.dump([{"hex": fhex(x), "repr": repr(x)} for x in floats if math.isfinite(x)], open('python_float_repr.json', 'w'), indent=0)

blocks = []
for _ in range(500):
    na, nb = rng.randint(0, 25), rng.randint(0, 12)
    k = rng.randint(1, 6)
    a = [rng.randrange(k) for _ in range(na)]
    b = [rng.randrange(k) for _ in range(nb)]
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    blocks.append({"a": a, "b": b, "blocks": [list(m) for m in sm.get_matching_blocks()]})
json.dump(blocks, open('difflib_blocks.json', 'w'))


def lcs(a, b):
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0] * (len(b) + 1)
        for j, cb in enumerate(b):
            cur[j + 1] = prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j])
        prev = cur
    return prev[-1]


pairs = []
chars = "ab c日😀é"
for _ in range(300):
    a = "".join(rng.choice(chars) for _ in range(rng.choice([0, 1, 5, 30, 63, 64, 65, 100, 130, 200])))
    b = "".join(rng.choice(chars) for _ in range(rng.choice([0, 1, 5, 30, 64, 100, 150])))
    pairs.append({"a": a, "b": b, "lcs": lcs(a, b)})
json.dump(pairs, open('lcs.json', 'w'), ensure_ascii=False)
print("fixtures written")
