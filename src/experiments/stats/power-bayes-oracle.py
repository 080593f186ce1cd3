"""Reference values for power.test.ts, bayesian.test.ts and sequential.test.ts (JSON batch on stdin).

power: sample size from scipy.stats.norm.ppf; MDE of a proportion by scipy.optimize.brentq on
the power Phi(|d|/se - z) = target (not the closed-form quadratic the code uses).
bayesian: scipy.stats.norm cdf/ppf; expected losses E[max(X,0)], E[max(-X,0)] by
scipy.integrate.quad of x * norm.pdf over the half line.
sequential: the confidence-sequence half-width of issue 5 (Waudby-Smith et al.) evaluated here.
"""
import json
import math
import sys

from scipy import integrate, optimize
from scipy.stats import norm


def power(c):
    z = norm.ppf(1 - c["alpha"] / 2) + norm.ppf(c["power"])
    wa = c["allocation"][0] / sum(c["allocation"])
    wb = 1 - wa
    total = z * z * (c["vA"] / wa + c["vB"] / wb) / c["delta"] ** 2
    pa, na, nb = c["pA"], c["nA"], c["nB"]
    za = norm.ppf(1 - c["alpha"] / 2)

    def gap(d):
        se = math.sqrt(pa * (1 - pa) / na + (pa + d) * (1 - pa - d) / nb)
        return norm.cdf(abs(d) / se - za) - c["power"]

    up = optimize.brentq(gap, 1e-12, 1 - pa, xtol=1e-15, rtol=1e-13) if pa < 1 and gap(1 - pa) > 0 else None
    return {"total": total, "mdeUp": up}


def bayes(c):
    mu, s, a = c["mean"], c["sd"], c["alpha"]
    # quad over the half line, truncated 40 sd from the mean (beyond, the integrand is < 1e-300)
    # so the adaptive rule cannot miss a narrow peak.
    lo, hi = max(0.0, mu - 40 * s), max(0.0, mu + 40 * s)
    pos = integrate.quad(lambda x: x * norm.pdf(x, mu, s), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] if hi > lo else 0.0
    lo, hi = min(0.0, mu - 40 * s), min(0.0, mu + 40 * s)
    neg = integrate.quad(lambda x: -x * norm.pdf(x, mu, s), lo, hi, epsabs=0, epsrel=1e-12, limit=200)[0] if hi > lo else 0.0
    return {"chance": float(norm.sf(0, mu, s)), "lo": float(norm.ppf(a / 2, mu, s)),
            "hi": float(norm.ppf(1 - a / 2, mu, s)), "lossPos": pos, "lossNeg": neg}


def sequential(c):
    n, a, se, ns = c["n"], c["alpha"], c["se"], c["tuning"]
    rho = math.sqrt((-2 * math.log(a) + math.log(-2 * math.log(a) + 1)) / ns)
    nr = n * rho ** 2 + 1
    return {"half": se * math.sqrt(n) * math.sqrt(2 * nr * math.log(math.sqrt(nr) / a) / (n ** 2 * rho ** 2))}


def main():
    batch = json.load(sys.stdin)
    json.dump({"power": [power(c) for c in batch.get("power", [])],
               "bayes": [bayes(c) for c in batch.get("bayes", [])],
               "sequential": [sequential(c) for c in batch.get("sequential", [])]}, sys.stdout)


if __name__ == "__main__":
    main()
