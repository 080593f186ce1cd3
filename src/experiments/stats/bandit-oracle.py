"""Reference values for bandit.test.ts (JSON batch on stdin): P(arm i is best) and E[max] under
independent normal posteriors by scipy.integrate.quad on the densities themselves,
  P_i = integral of norm.pdf(t; m_i, s_i) * prod_j norm.cdf(t; m_j, s_j) dt,
  E[max] = sum_i integral of t * norm.pdf(t; m_i, s_i) * prod_j norm.cdf(t; m_j, s_j) dt,
(the normal density written out, the CDF by scipy.special.ndtr) over m_i +- 12 s_i with the other arms' means as break points (quad's `points`).
"""
import json
import sys

import math

from scipy import integrate
from scipy.special import ndtr

INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def moments(arms):
    probs, emax = [], 0.0
    for i, a in enumerate(arms):
        others = [b for j, b in enumerate(arms) if j != i]

        def dens(t, a=a, others=others):
            z = (t - a["mean"]) / a["sd"]
            v = INV_SQRT_2PI * math.exp(-0.5 * z * z) / a["sd"]
            for b in others:
                v *= ndtr((t - b["mean"]) / b["sd"])
            return v

        lo, hi = a["mean"] - 12 * a["sd"], a["mean"] + 12 * a["sd"]
        pts = sorted({b["mean"] for b in others if lo < b["mean"] < hi})
        kw = dict(epsabs=1e-13, epsrel=1e-11, limit=500, points=pts or None)
        p, _ = integrate.quad(dens, lo, hi, **kw)
        e, _ = integrate.quad(lambda t: t * dens(t), lo, hi, **kw)
        probs.append(p)
        emax += e
    return {"probs": probs, "emax": emax}


batch = json.load(sys.stdin)
json.dump([moments(c) for c in batch], sys.stdout)
