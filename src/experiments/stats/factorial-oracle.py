"""Reference values for factorial.test.ts from RAW per-user data (JSON on stdin), numpy + scipy 1.10:
main effects: the raw values of every arm with the level against every arm with the baseline,
scipy.stats.ttest_ind(equal_var=False); interactions: numpy means and np.var(ddof=1) of the four
cells (pooled over the other factors), the contrast (m_lm - m_l0) - (m_0m - m_00), its variance
sum(v/n), Welch-Satterthwaite df, p from scipy.stats.t.sf."""
import json
import math
import sys

import numpy as np
from scipy import stats

data = json.load(sys.stdin)
factors, cells = data["factors"], data["cells"]


def values(fixed):
    return np.concatenate([np.array(c["y"], dtype=float) for c in cells if all(c["levels"][f] == l for f, l in fixed.items())])


main = []
for f in factors:
    base = values({f["key"]: f["levels"][0]})
    for level in f["levels"][1:]:
        arm = values({f["key"]: level})
        r = stats.ttest_ind(arm, base, equal_var=False)
        main.append({"effect": float(arm.mean() - base.mean()), "t": float(r.statistic), "p": float(r.pvalue)})

inter = []
for i, f in enumerate(factors):
    for g in factors[i + 1:]:
        f0, g0 = f["levels"][0], g["levels"][0]
        for l in f["levels"][1:]:
            for m in g["levels"][1:]:
                parts = [values({f["key"]: a, g["key"]: b}) for a, b in [(f0, g0), (f0, m), (l, g0), (l, m)]]
                means = [p.mean() for p in parts]
                a = [np.var(p, ddof=1) / len(p) for p in parts]
                est = means[3] - means[2] - means[1] + means[0]
                se = math.sqrt(sum(a))
                df = sum(a) ** 2 / sum(x * x / (len(p) - 1) for x, p in zip(a, parts))
                t = est / se
                inter.append({"estimate": float(est), "se": se, "df": float(df), "p": float(2 * stats.t.sf(abs(t), df))})

json.dump({"main": main, "interactions": inter}, sys.stdout)
