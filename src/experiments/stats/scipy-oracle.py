"""Reference values for stats.test.ts, computed with scipy (the oracle) from a JSON batch on stdin.

Welch (absolute): scipy.stats.ttest_ind_from_stats(equal_var=False) for t and p; the interval
from scipy.stats.t.ppf polished by a Newton step (see t_quantile). Welch (relative): delta-method variance by the textbook formula, p and
interval from scipy.stats.t. SRM: scipy.stats.chisquare. Holm and Benjamini-Hochberg: scipy 1.10
has no false_discovery_control, so both are written here from their definitions (as R's
p.adjust), with decisions by the step-down / step-up procedures themselves.
"""
import json
import math
import sys

from scipy import stats

ALTERNATIVE = {"two": "two-sided", "greater": "greater", "lesser": "less"}


def summarize(arm):
    n = arm["n"]
    mean = arm["sum"] / n
    if arm["type"] == "proportion":
        return n, mean, mean * (1 - mean)
    return n, mean, (arm["sumSquares"] - arm["sum"] ** 2 / n) / (n - 1)


def welch_df(na, va, nb, vb):
    a, b = va / na, vb / nb
    return (a + b) ** 2 / (a * a / (na - 1) + b * b / (nb - 1))


def t_quantile(p, df):
    """scipy.stats.t.ppf polished by one Newton step on scipy.stats.t.cdf.

    scipy 1.10's t.ppf (cephes stdtrit) is off by up to ~2e-9 relative at small non-integer df
    (e.g. df = 4.0000123, p = 0.95: t.cdf(t.ppf(p)) - p = -2.8e-10, confirmed with mpmath
    betainc at 40 digits), while scipy's t.cdf is accurate to ~1e-16; the Newton step brings
    the quantile to the CDF's accuracy so the 1e-9 comparison tests the formulas, not cephes.
    """
    x = stats.t.ppf(p, df)
    return float(x - (stats.t.cdf(x, df) - p) / stats.t.pdf(x, df))


def interval(effect, se, df, alpha, sides):
    if sides == "two":
        half = t_quantile(1 - alpha / 2, df) * se
        return [effect - half, effect + half]
    half = t_quantile(1 - alpha, df) * se
    return [effect - half, None] if sides == "greater" else [None, effect + half]


def p_value(t, df, sides):
    if sides == "two":
        return float(2 * stats.t.sf(abs(t), df))
    return float(stats.t.sf(t, df) if sides == "greater" else stats.t.cdf(t, df))


def welch(case):
    na, ma, va = summarize(case["control"])
    nb, mb, vb = summarize(case["treatment"])
    df = welch_df(na, va, nb, vb)
    alpha, sides = case["alpha"], case["sides"]
    if case["difference"] == "absolute":
        res = stats.ttest_ind_from_stats(mb, math.sqrt(vb), nb, ma, math.sqrt(va), na,
                                         equal_var=False, alternative=ALTERNATIVE[sides])
        effect, se = mb - ma, math.sqrt(va / na + vb / nb)
        t, p = float(res.statistic), float(res.pvalue)
    else:
        effect = (mb - ma) / abs(ma)
        se = math.sqrt(vb / (nb * ma ** 2) + va * mb ** 2 / (na * ma ** 4))
        t = effect / se
        p = p_value(t, df, sides)
    return {"effect": effect, "se": se, "t": t, "df": df, "pValue": p,
            "ci": [None if x is None else float(x) for x in interval(effect, se, df, alpha, sides)]}


def srm(case):
    counts, weights = case["counts"], case["weights"]
    total = sum(counts)
    expected = [total * w / sum(weights) for w in weights]
    res = stats.chisquare(counts, f_exp=expected)
    return {"chiSquare": float(res.statistic), "pValue": float(res.pvalue)}


def holm(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adjusted, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted


def bh(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    adjusted, running = [0.0] * m, 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, m * p[i] / (rank + 1))
        adjusted[i] = running
    return adjusted


def holm_rejects(p, alpha):
    """Holm's step-down: reject in ascending order while p(k) <= alpha / (m - k + 1)."""
    m, rejected = len(p), [False] * len(p)
    for rank, i in enumerate(sorted(range(m), key=lambda i: (p[i], i))):
        if p[i] > alpha / (m - rank):
            break
        rejected[i] = True
    return rejected


def bh_rejects(p, alpha):
    """BH step-up: k = max{k : p(k) <= k alpha / m}; reject the k smallest."""
    m = len(p)
    order = sorted(range(m), key=lambda i: (p[i], i))
    k = max([rank + 1 for rank, i in enumerate(order) if p[i] <= (rank + 1) * alpha / m], default=0)
    rejected = [False] * m
    for i in order[:k]:
        rejected[i] = True
    return rejected


def multiple(case):
    p, alpha, m = case["pValues"], case["alpha"], len(case["pValues"])
    bh_rej = bh_rejects(p, alpha)
    return {"holm": holm(p), "holmRejected": holm_rejects(p, alpha), "holmIntervalAlpha": alpha / m,
            "bh": bh(p), "bhRejected": bh_rej, "bhIntervalAlpha": alpha * max(sum(bh_rej), 1) / m}


def main():
    batch = json.load(sys.stdin)
    out = {"scipy": __import__("scipy").__version__,
           "welch": [welch(c) for c in batch.get("welch", [])],
           "srm": [srm(c) for c in batch.get("srm", [])],
           "multiple": [multiple(c) for c in batch.get("multiple", [])]}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
