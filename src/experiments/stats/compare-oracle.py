"""Reference values for compare.test.ts, computed from RAW per-user data (JSON batch on stdin).

The code under test sees only sufficient statistics; this script sees every user's values and
computes the same quantities directly with numpy and scipy 1.10:
- plain mean metrics: scipy.stats.ttest_ind(equal_var=False) on the raw values;
- CUPED (mean metrics): theta = np.cov of the pooled (y, x) of both arms / np.var(x, ddof=1)
  (gbstats' pooling), adjusted per-user values z = y - theta (x - mean of x over both arms),
  then scipy.stats.ttest_ind(equal_var=False) on z; relative effects divide by the raw control
  mean with the delta-method variance on np.var(z, ddof=1) and the raw means;
- proportions: variance p(1 - p) by convention (issue 5), so t, p and intervals come from the
  textbook formulas with scipy.stats.t (with CUPED: p(1-p) - 2 theta cov + theta^2 var(x));
- ratio metrics: the linearization L = (num - R den)/mean(den) per user, R = sum(num)/sum(den),
  np.var(L, ddof=1) is the delta-method per-user variance; with CUPED theta = (cov_A(L, x) +
  cov_B(L, x)) / (var_A(x) + var_B(x)) and z = L - theta x; then
  scipy.stats.ttest_ind_from_stats(equal_var=False);
- Bayesian (flat prior): scipy.stats.norm on N(effect, se^2); sequential: the confidence-sequence
  half-widths (two-sided and one-sided) written out here from Waudby-Smith et al.
Welch-Satterthwaite df is written out (scipy 1.10's ttest_ind result does not expose it).
"""
import json
import math
import sys

import numpy as np
from scipy import stats

ALT = {"two": "two-sided", "greater": "greater", "lesser": "less"}


def welch_df(va, na, vb, nb):
    a, b = va / na, vb / nb
    return (a + b) ** 2 / (a * a / (na - 1) + b * b / (nb - 1))


def t_quantile(p, df):
    # scipy 1.10's t.ppf is ~1e-9 off at non-integer df; one Newton step on t.cdf (see scipy-oracle.py).
    x = stats.t.ppf(p, df)
    return float(x - (stats.t.cdf(x, df) - p) / stats.t.pdf(x, df))


def interval(effect, se, df, alpha, sides):
    if sides == "two":
        h = t_quantile(1 - alpha / 2, df) * se
        return [effect - h, effect + h]
    h = t_quantile(1 - alpha, df) * se
    return [effect - h, None] if sides == "greater" else [None, effect + h]


def t_p(t, df, sides):
    if sides == "two":
        return float(2 * stats.t.sf(abs(t), df))
    return float(stats.t.sf(t, df)) if sides == "greater" else float(stats.t.cdf(t, df))


def per_user(arm, kind):
    """(estimate, per-user linear values used for variance, covariate or None)."""
    x = np.array(arm["x"], dtype=float) if arm.get("x") is not None else None
    if kind == "ratio":
        num = np.array(arm["num"], dtype=float)
        den = np.array(arm["den"], dtype=float)
        r = num.sum() / den.sum()
        return r, (num - r * den) / den.mean(), x
    y = np.array(arm["y"], dtype=float)
    return y.mean(), y, x


def case(c):
    kind, diff, alpha, sides = c["kind"], c["difference"], c["alpha"], c["sides"]
    ma, la, xa = per_user(c["control"], kind)
    mb, lb, xb = per_user(c["treatment"], kind)
    na, nb = len(la), len(lb)
    out = {}
    if c["cuped"]:
        xall = np.concatenate([xa, xb])
        if kind == "ratio":
            theta = (np.cov(la, xa)[0, 1] + np.cov(lb, xb)[0, 1]) / (np.var(xa, ddof=1) + np.var(xb, ddof=1))
        else:
            yall = np.concatenate([la, lb])
            theta = np.cov(yall, xall)[0, 1] / np.var(xall, ddof=1)
        xp = xall.mean()
        za, zb = la - theta * (xa - xp), lb - theta * (xb - xp)
        adj_a, adj_b = ma - theta * (xa.mean() - xp), mb - theta * (xb.mean() - xp)
        if kind == "proportion":
            va = ma * (1 - ma) - 2 * theta * np.cov(la, xa)[0, 1] + theta**2 * np.var(xa, ddof=1)
            vb = mb * (1 - mb) - 2 * theta * np.cov(lb, xb)[0, 1] + theta**2 * np.var(xb, ddof=1)
        else:
            va, vb = np.var(za, ddof=1), np.var(zb, ddof=1)
        out["theta"] = float(theta)
    else:
        za, zb = la, lb
        adj_a, adj_b = ma, mb
        if kind == "proportion":
            va, vb = ma * (1 - ma), mb * (1 - mb)
        else:
            va, vb = np.var(la, ddof=1), np.var(lb, ddof=1)
    df = welch_df(va, na, vb, nb)
    if diff == "absolute":
        effect = adj_b - adj_a
        se = math.sqrt(va / na + vb / nb)
        if kind == "mean":
            # The oracle proper: scipy's Welch test on the (adjusted) raw per-user values.
            res = stats.ttest_ind(zb, za, equal_var=False, alternative=ALT[sides])
            out["scipyT"], out["scipyP"] = float(res.statistic), float(res.pvalue)
    else:
        effect = (adj_b - adj_a) / abs(ma)
        se = math.sqrt(vb / (nb * ma**2) + va * mb**2 / (na * ma**4))
    if kind == "ratio" and diff == "absolute":
        res = stats.ttest_ind_from_stats(adj_b, math.sqrt(vb), nb, adj_a, math.sqrt(va), na, equal_var=False, alternative=ALT[sides])
        out["scipyT"], out["scipyP"] = float(res.statistic), float(res.pvalue)
    out.update(
        controlMean=float(ma), treatmentMean=float(mb), adjustedControl=float(adj_a), adjustedTreatment=float(adj_b),
        effect=float(effect), se=float(se), df=float(df), p=t_p(effect / se, df, sides), ci=interval(effect, se, df, alpha, sides),
    )
    # Bayesian, flat prior: N(effect, se^2).
    better = -effect if c.get("inverse") else effect
    if sides == "two":
        z = stats.norm.ppf(1 - alpha / 2)
        bci = [effect - z * se, effect + z * se]
    else:
        z = stats.norm.ppf(1 - alpha)
        bci = [effect - z * se, None] if sides == "greater" else [None, effect + z * se]
    out["bayes"] = {"chance": float(stats.norm.cdf(better / se)), "ci": bci}
    # Sequential (N* = tuning).
    n, tuning = na + nb, c["tuning"]
    if sides == "two":
        l = -2 * math.log(alpha)
        rho2 = (l + math.log(l + 1)) / tuning
        h = se * math.sqrt(n) * math.sqrt(2 * (n * rho2 + 1) * math.log(math.sqrt(n * rho2 + 1) / alpha) / (n * n * rho2))
        out["seqCi"] = [effect - h, effect + h]
    else:
        l = -2 * math.log(2 * alpha)
        rho2 = (l + math.log(l + 1)) / tuning
        h = math.sqrt(se * se * n * 2 * (n * rho2 + 1) / (n * n * rho2) * math.log(1 + math.sqrt(n * rho2 + 1) / (2 * alpha)))
        out["seqCi"] = [effect - h, None] if sides == "greater" else [None, effect + h]
    return out


def main():
    batch = json.load(sys.stdin)
    json.dump([case(c) for c in batch], sys.stdout)


main()
