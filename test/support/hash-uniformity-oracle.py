#!/usr/bin/python3
"""Oracle for test/experiment-hash.test.ts: buckets of the synthetic ids 'user-0' ..
'user-<n-1>' computed with hashlib (SHA-256, first 4 bytes big-endian, mod 10000), grouped
into `groups` equal groups, and scipy.stats.chisquare against uniform.

Usage: /usr/bin/python3 hash-uniformity-oracle.py SEED PURPOSE N GROUPS  -> JSON on stdout
"""
import hashlib
import json
import sys

from scipy.stats import chisquare

seed, purpose, n, groups = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
width = 10000 // groups
counts = [0] * groups
for i in range(n):
    digest = hashlib.sha256(f"{seed}:{purpose}:user-{i}".encode("utf-8")).digest()
    counts[(int.from_bytes(digest[:4], "big") % 10000) // width] += 1
result = chisquare(counts)
print(json.dumps({"counts": counts, "chiSquare": float(result.statistic), "pValue": float(result.pvalue)}))
