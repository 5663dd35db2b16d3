#!/usr/bin/env python3
"""Records CPython's engine-benchmark workload (bench/README.md "Engine workload") as hashes, so the
Swift re-implementation of random.Random can be checked: kato-conformance --bench --verify workload_fixture.json"""
import hashlib
import json
import random

out = []
# (N, vocabulary size): the reference sizes, N = 100,000 with the fixed 500 symbols, and the
# growing-vocabulary variant (500 symbols per 10,000 patterns) at 100,000.
for n, v in ((100, 500), (1000, 500), (10000, 500), (100000, 500), (100000, 5000)):
    vocab = [f"sym{i:03d}" for i in range(v)]
    r = random.Random(42)
    pats = [[r.sample(vocab, r.randint(2, 4)) for _ in range(r.randint(3, 6))] for _ in range(n)]
    qr = random.Random(7)
    obs = [qr.choice(qr.choice(pats)) for _ in range(300)]
    pairs = []
    for _ in range(200 if n <= 1000 else 100):
        base = qr.choice(pats)
        st = qr.randint(0, len(base) - 2)
        pairs.append([base[st], base[st + 1]])
    out.append({
        "n": n,
        "vocabulary": v,
        "first_pattern": pats[0],
        "kb_sha1": hashlib.sha1(repr(pats).encode()).hexdigest(),
        "observe_queries_sha1": hashlib.sha1(repr(obs).encode()).hexdigest(),
        "prediction_queries_sha1": hashlib.sha1(repr(pairs).encode()).hexdigest(),
    })
json.dump(out, open("workload_fixture.json", "w"), indent=1)
print("written workload_fixture.json")
