#!/usr/bin/python3
"""Independent oracle for spec/hash.json: experiment hash buckets (hash version 1) and
assignments computed with Python's hashlib, not with Strata's TypeScript.

Scheme: SHA-256 of the UTF-8 bytes of '<seed>:<purpose>:<user_id>' (no normalization),
first 4 digest bytes as a big-endian uint32, modulo 10000. Coverage: covered iff
coverage_bucket < round_half_up(coverage * 10000). Variants: W(i) = (w1+..+wi)/(w1+..+wn)
in doubles, variant i takes [round_half_up(10000*W(i-1)), round_half_up(10000*W(i))),
the last bound 10000.

Usage: /usr/bin/python3 spec/hash-oracle.py          rewrites spec/hash.json
       /usr/bin/python3 spec/hash-oracle.py --stdout prints it (test/experiment-hash.test.ts
                                                     compares that with the file)
"""
import hashlib
import json
import math
import os
import sys
import unicodedata

BUCKETS = 10000


def bucket(seed, purpose, user_id):
    digest = hashlib.sha256(f"{seed}:{purpose}:{user_id}".encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % BUCKETS


def round_half_up(x):
    # Python's round() rounds halves to even; the scheme rounds them up (JavaScript's Math.round).
    f = math.floor(x)
    return f + 1 if x - f >= 0.5 else f


def variant_bounds(variants):
    total = 0.0
    for v in variants:
        total += v["weight"]
    bounds, cumulative, lo = [], 0.0, 0
    for i, v in enumerate(variants):
        cumulative += v["weight"]
        hi = BUCKETS if i == len(variants) - 1 else min(BUCKETS, round_half_up(BUCKETS * (cumulative / total)))
        hi = max(lo, hi)
        bounds.append((v["key"], lo, hi))
        lo = hi
    return bounds


def assign(experiment, user_id):
    cb = bucket(experiment["seed"], "coverage", user_id)
    vb = bucket(experiment["seed"], "variant", user_id)
    variant = next(key for key, lo, hi in variant_bounds(experiment["variants"]) if vb < hi)
    return {
        "coverageBucket": cb,
        "variantBucket": vb,
        "covered": cb < round_half_up(experiment["coverage"] * BUCKETS),
        "variant": variant,
    }


def nfd(s):
    return unicodedata.normalize("NFD", s)


def nfc(s):
    return unicodedata.normalize("NFC", s)


def long_id(n):
    # Deterministic: a cycle over ASCII, Latin-1, CJK and an astral character.
    alphabet = "abcXYZ019-_.:é漢字😀"
    return "".join(alphabet[(i * 7) % len(alphabet)] for i in range(n))


# (user id, note). Notes say why each id is there.
USER_IDS = [
    ("alice", "ASCII"),
    ("user-1", "ASCII"),
    ("42", "digits"),
    ("", "empty id: the input is '<seed>:<purpose>:'"),
    ("Alice", "case matters (no case folding)"),
    (" alice", "leading space kept (no trimming)"),
    ("alice\n", "trailing newline kept"),
    ("tab\there", "tab"),
    ("o'brien", "quote"),
    ("back\\slash", "backslash"),
    ('double"quote', "double quote"),
    ("a:b", "':' in the id"),
    ("user:42:variant", "':' and a purpose word in the id"),
    (":coverage:", "id made of the separator and a purpose"),
    ("café", "é precomposed, U+00E9 (NFC)"),
    (nfd("café"), "é decomposed, e + U+0301 (NFD): different bytes, different bucket"),
    (nfc("Müller"), "ü precomposed (NFC)"),
    (nfd("Müller"), "ü decomposed (NFD)"),
    (nfc("Zoë Ångström"), "Latin-1 letters (NFC)"),
    (nfd("Zoë Ångström"), "the same letters (NFD)"),
    (nfc("한국어"), "Hangul syllables (NFC)"),
    (nfd("한국어"), "Hangul as conjoining jamo (NFD)"),
    ("用户123", "CJK"),
    ("日本語ユーザー", "Japanese"),
    ("Ελληνικά", "Greek"),
    ("Пользователь", "Cyrillic"),
    ("مستخدم", "Arabic (right to left)"),
    ("משתמש", "Hebrew (right to left)"),
    ("\U0001d4b3", "astral plane letter U+1D4B3 (4 UTF-8 bytes, a surrogate pair in UTF-16)"),
    ("😀", "emoji"),
    ("👩\u200d👩\u200d👧\u200d👦", "family emoji joined by ZWJ U+200D"),
    ("👩👩👧👦", "the same emoji without ZWJ"),
    ("👍🏽", "emoji with a skin tone modifier"),
    ("🇫🇷", "flag (regional indicators)"),
    ("\u00a0nbsp", "no-break space U+00A0"),
    ("x" * 1000, "1000 ASCII characters"),
    (long_id(5000), "5000 mixed characters (ASCII, Latin-1, CJK, emoji, ':')"),
] + [(f"u{i:06d}", "synthetic ASCII") for i in range(1, 41)]

SEEDS = ["onboarding-checklist", "Exp_2026.v2-A"]

EXPERIMENTS = [
    {"seed": "onboarding-checklist", "coverage": 1.0, "variants": [{"key": "control", "weight": 1}, {"key": "checklist", "weight": 1}]},
    {"seed": "onboarding-checklist", "coverage": 0.2, "variants": [{"key": "control", "weight": 1}, {"key": "checklist", "weight": 1}]},
    {"seed": "three-way", "coverage": 1.0, "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}, {"key": "c", "weight": 1}]},
    {"seed": "ninety-ten", "coverage": 0.5, "variants": [{"key": "control", "weight": 0.9}, {"key": "treatment", "weight": 0.1}]},
    {"seed": "sixty-forty", "coverage": 0.75, "variants": [{"key": "control", "weight": 60}, {"key": "treatment", "weight": 40}]},
    {"seed": "factorial.v1", "coverage": 1.0, "variants": [
        {"key": "off.none", "weight": 1}, {"key": "off.email", "weight": 2},
        {"key": "on.none", "weight": 3}, {"key": "on.email", "weight": 4}]},
    # 10000 * (1/800) = 12.5 exactly: the bound rounds half up to 13 (Python's round would say 12).
    {"seed": "half-up", "coverage": 0.00125, "variants": [{"key": "tiny", "weight": 1}, {"key": "rest", "weight": 799}]},
]


def first_id_with(seed, purpose, target, prefix):
    """The first '<prefix><n>' whose bucket is target: ids on either side of every bound."""
    n = 0
    while bucket(seed, purpose, f"{prefix}{n}") != target:
        n += 1
    return f"{prefix}{n}"


def boundary_ids(experiment):
    seed, ids = experiment["seed"], []
    threshold = round_half_up(experiment["coverage"] * BUCKETS)
    if threshold < BUCKETS:
        ids += [first_id_with(seed, "coverage", b, "edge-c") for b in (threshold - 1, threshold)]
    for _, _, hi in variant_bounds(experiment["variants"])[:-1]:
        ids += [first_id_with(seed, "variant", b, "edge-v") for b in (hi - 1, hi)]
    return ids


def document():
    vectors = [
        {"seed": seed, "purpose": purpose, "userId": uid, "bucket": bucket(seed, purpose, uid), "note": note}
        for seed in SEEDS
        for uid, note in USER_IDS
        for purpose in ("coverage", "variant")
    ]
    assignment_ids = [uid for uid, _ in USER_IDS if len(uid) <= 64]
    assignments = []
    for experiment in EXPERIMENTS:
        for uid in assignment_ids + boundary_ids(experiment):
            assignments.append({"experiment": experiment, "userId": uid, **assign(experiment, uid)})
    return {
        "description": (
            "Experiment hash buckets, hash version 1 (spec/README.md). bucket = uint32 big-endian of the first 4 bytes of "
            "SHA-256(UTF-8 bytes of '<seed>:<purpose>:<userId>', not normalized) mod 10000. Generated by spec/hash-oracle.py "
            "with Python's hashlib; do not edit by hand."
        ),
        "hashVersion": 1,
        "buckets": BUCKETS,
        "vectors": vectors,
        "assignments": assignments,
    }


def render():
    # ASCII-only JSON: every non-ASCII character is a \\u escape, so no editor can normalize an id.
    doc = document()
    dump = lambda value: json.dumps(value, ensure_ascii=True)
    head = ",\n".join(f" {dump(k)}: {dump(doc[k])}" for k in ("description", "hashVersion", "buckets"))
    rows = lambda key: ",\n".join(f"  {dump(row)}" for row in doc[key])
    # One vector per line keeps diffs readable.
    return f"{{\n{head},\n \"vectors\": [\n{rows('vectors')}\n ],\n \"assignments\": [\n{rows('assignments')}\n ]\n}}\n"


if __name__ == "__main__":
    text = render()
    if "--stdout" in sys.argv:
        sys.stdout.write(text)
    else:
        out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hash.json")
        with open(out, "w", encoding="ascii") as f:
            f.write(text)
        print(f"wrote {out}: {len(document()['vectors'])} vectors, {len(document()['assignments'])} assignments")
