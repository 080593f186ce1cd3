/**
 * Maximum likelihood on a log scale: Nelder–Mead (adaptive coefficients of Gao & Han
 * 2012, for 2-4 parameters), restarted from the best vertex until a restart no longer
 * improves the objective, so the simplex cannot stall on a ridge. Hand-written because
 * npm has no maintained package for it: `fmin` (0.0.4) has had no release since 2017 and
 * the ml-* packages target curve fitting (Levenberg–Marquardt on residuals), not a
 * likelihood. The likelihoods here have 3-4 parameters and are cheap, so a derivative-free
 * method with restarts is both simple and accurate enough to reproduce published fits to
 * every printed decimal (see test/cdnow.test.ts).
 */

export interface MinimizeResult {
  /** The minimizing point. */
  readonly x: Float64Array;
  /** The objective there. */
  readonly value: number;
  /** Objective evaluations used. */
  readonly evaluations: number;
  /** Whether the last restart met the tolerance (rather than the evaluation budget). */
  readonly converged: boolean;
}

export interface MinimizeOptions {
  /** Stop when the simplex's objective spread and size fall below these. */
  readonly fTolerance?: number;
  readonly xTolerance?: number;
  /** Evaluation budget over all restarts. */
  readonly maxEvaluations?: number;
  /** Initial step along each axis. */
  readonly step?: number;
}

/** Minimize `f` from `start`; a non-finite value counts as +Infinity (outside the domain). */
export function minimize(f: (x: Float64Array) => number, start: ArrayLike<number>, options: MinimizeOptions = {}): MinimizeResult {
  const budget = options.maxEvaluations ?? 20_000;
  let evaluations = 0;
  const g = (x: Float64Array) => {
    evaluations++;
    const v = f(x);
    return Number.isFinite(v) ? v : Infinity;
  };
  let x: Float64Array = Float64Array.from(start);
  let value = g(x);
  let step = options.step ?? 0.5;
  let converged = false;
  for (let restart = 0; restart < 50 && evaluations < budget; restart++) {
    const run = nelderMead(g, x, step, options.fTolerance ?? 1e-11, options.xTolerance ?? 1e-9, budget - evaluations, () => evaluations);
    const improved = value - run.value;
    if (run.value <= value) {
      x = run.x;
      value = run.value;
    }
    converged = run.converged;
    // A restart that moves the optimum by less than the tolerance ends the search.
    if (restart > 0 && improved <= (options.fTolerance ?? 1e-11) * (1 + Math.abs(value))) break;
    step = 0.1;
  }
  return { x, value, evaluations, converged };
}

function nelderMead(
  g: (x: Float64Array) => number,
  start: Float64Array,
  step: number,
  fTol: number,
  xTol: number,
  budget: number,
  used: () => number,
): { x: Float64Array; value: number; converged: boolean } {
  const n = start.length;
  const limit = used() + budget;
  // Adaptive coefficients (Gao & Han 2012): better than the classic ones beyond 2 dimensions.
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  const pts: Float64Array[] = [Float64Array.from(start)];
  for (let i = 0; i < n; i++) {
    const p = Float64Array.from(start);
    p[i]! += step;
    pts.push(p);
  }
  const vals = pts.map(g);
  const order = () => {
    const idx = pts.map((_, i) => i).sort((a, b) => vals[a]! - vals[b]!);
    const p = idx.map((i) => pts[i]!);
    const v = idx.map((i) => vals[i]!);
    pts.splice(0, pts.length, ...p);
    vals.splice(0, vals.length, ...v);
  };
  const along = (c: Float64Array, towards: Float64Array, t: number) => {
    const out = new Float64Array(n);
    for (let j = 0; j < n; j++) out[j] = c[j]! + t * (towards[j]! - c[j]!);
    return out;
  };
  while (used() < limit) {
    order();
    const spreadF = Math.abs(vals[n]! - vals[0]!);
    let spreadX = 0;
    for (let i = 1; i <= n; i++) for (let j = 0; j < n; j++) spreadX = Math.max(spreadX, Math.abs(pts[i]![j]! - pts[0]![j]!));
    if (spreadF <= fTol * (1 + Math.abs(vals[0]!)) && spreadX <= xTol) return { x: pts[0]!, value: vals[0]!, converged: true };
    const centroid = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) centroid[j]! += pts[i]![j]! / n;
    const worst = pts[n]!;
    const reflected = along(centroid, worst, -alpha);
    const fr = g(reflected);
    if (fr < vals[0]!) {
      const expanded = along(centroid, worst, -beta);
      const fe = g(expanded);
      if (fe < fr) [pts[n], vals[n]] = [expanded, fe];
      else [pts[n], vals[n]] = [reflected, fr];
    } else if (fr < vals[n - 1]!) {
      [pts[n], vals[n]] = [reflected, fr];
    } else {
      const outside = fr < vals[n]!;
      const contracted = along(centroid, worst, outside ? -gamma : gamma);
      const fc = g(contracted);
      if (fc < (outside ? fr : vals[n]!)) [pts[n], vals[n]] = [contracted, fc];
      else {
        for (let i = 1; i <= n; i++) {
          pts[i] = along(pts[0]!, pts[i]!, delta);
          vals[i] = g(pts[i]!);
        }
      }
    }
  }
  order();
  return { x: pts[0]!, value: vals[0]!, converged: false };
}
