/**
 * The supervised learning core (src/models/learn) against Debian's sklearn 1.2 / numpy in
 * /usr/bin/python3 on the same data (test/support/learn-oracle.ts writes it to a temp folder).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  auc,
  calibrationTable,
  designMatrix,
  explainRow,
  featureImportance,
  findBinThresholds,
  fitGbt,
  fitLogistic,
  fitStandardizer,
  gbtDecision,
  liftTable,
  logisticDecision,
  logLoss,
  matrixFromRows,
  parseModel,
  predictGbt,
  predictLogistic,
  predictProbability,
  serializeModel,
  standardize,
  type DesignMatrix,
} from '../src/models/learn/index.js';
import { mulberry32 } from '../src/models/learn/gbt.js';
import { isStrataError } from '../src/errors/errors.js';
import { normals, pythonHas, runOracle, syntheticData } from './support/learn-oracle.js';

const hasSklearn = pythonHas(['numpy', 'sklearn']);
const names = (p: number) => Array.from({ length: p }, (_, j) => `f${j}`);
const matrix = (x: Float64Array, n: number, p: number): DesignMatrix => designMatrix(x, n, names(p));

describe('design matrix and standardization', () => {
  it('rejects wrong shapes and non-finite values with the row and feature', () => {
    expect(() => designMatrix(new Float64Array(5), 2, ['a', 'b'])).toThrow(/expected n·p = 2·2 = 4/);
    expect(() => matrixFromRows([[1, Number.NaN]], ['a', 'b'])).toThrow(/row 0, feature "b" is NaN/);
  });

  it.skipIf(!hasSklearn)('matches sklearn StandardScaler (means, scale_ with 1 for a constant column, transform)', () => {
    const n = 500;
    const p = 4;
    const { x } = syntheticData(n, p, 11, 'linear');
    for (let i = 0; i < n; i++) x[i * p + 2] = 3.5; // a constant column
    const s = fitStandardizer(matrix(x, n, p));
    const z = standardize(s, matrix(x, n, p));
    const sk = runOracle<{ mean: number[]; scale: number[]; z: number[] }>({ x, n, p }, `
from sklearn.preprocessing import StandardScaler
m = StandardScaler().fit(X)
out({"mean": m.mean_.tolist(), "scale": m.scale_.tolist(), "z": m.transform(X).ravel().tolist()})`);
    sk.mean.forEach((v, j) => expect(s.means[j]).toBeCloseTo(v, 12));
    sk.scale.forEach((v, j) => expect(s.sds[j]).toBeCloseTo(v, 12));
    expect(Math.max(...sk.z.map((v, k) => Math.abs(v - z.values[k]!)))).toBeLessThan(1e-12);
  });
});

describe.skipIf(!hasSklearn)('logistic regression (oracle: sklearn LogisticRegression, penalty l2, fit_intercept)', () => {
  const cases = [
    { n: 5000, p: 8, C: 0.5, seed: 7 },
    { n: 3000, p: 12, C: 0.01, seed: 8 },
    { n: 4000, p: 30, C: 2, seed: 9 },
    // Above 50,000 rows the solver's Hessian comes from a subsample (the gradient stays exact).
    { n: 60000, p: 10, C: 1, seed: 10 },
  ];
  for (const { n, p, C, seed } of cases) {
    for (const standardized of [true, false]) {
      it(`n=${n} p=${p} C=${C} ${standardized ? 'standardized' : 'raw features'}: coefficients, probabilities and AUC`, () => {
        const train = syntheticData(n, p, seed, 'linear');
        const test = syntheticData(1000, p, seed + 100, 'linear');
        const model = fitLogistic(matrix(train.x, n, p), train.y, { C, standardize: standardized });
        expect(model.converged).toBe(true);
        const ours = predictLogistic(model, matrix(test.x, 1000, p));
        // The oracle fits on the same matrix (StandardScaler first when standardized) with
        // newton-cg and lbfgs at tol 1e-10. sklearn's lbfgs also stops on scipy's default
        // ftol (2.2e-9 relative change in the objective), so on badly scaled raw features it
        // stops far from the optimum (0.2 relative on p = 30): it is held to 1e-4 relative to
        // the largest coefficient only on standardized data, where it gets there; newton-cg
        // converges on both and is held to 1e-6 per coefficient (floored at 1e-3 · largest).
        const sk = runOracle<{ fits: Record<string, { coef: number[]; proba: number[] }>; aucOurs: number }>(
          { x: new Float64Array([...train.x, ...test.x]), n: n + 1000, p, y: new Uint8Array([...train.y, ...test.y]), scores: new Float64Array([...new Float64Array(n), ...ours]) },
          `
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.metrics import roc_auc_score
Xtr, Xte, ytr, yte = X[:${n}], X[${n}:], y[:${n}], y[${n}:]
if ${standardized ? 'True' : 'False'}:
    sc = StandardScaler().fit(Xtr); Xtr, Xte = sc.transform(Xtr), sc.transform(Xte)
fits = {}
for solver in ['newton-cg'] + (['lbfgs'] if ${standardized ? 'True' : 'False'} else []):
    m = LogisticRegression(C=${C}, tol=1e-10, max_iter=100 if solver == 'newton-cg' else 5000, solver=solver).fit(Xtr, ytr)
    fits[solver] = {"coef": m.coef_[0].tolist() + [float(m.intercept_[0])], "proba": m.predict_proba(Xte)[:, 1].tolist()}
out({"fits": fits, "aucOurs": roc_auc_score(yte, s[${n}:])})`,
        );
        const theta = [...model.coef, model.intercept];
        const exact = sk.fits['newton-cg']!;
        const scale = Math.max(...exact.coef.map(Math.abs));
        exact.coef.forEach((v, k) => expect(Math.abs(theta[k]! - v)).toBeLessThanOrEqual(1e-6 * Math.max(Math.abs(v), 1e-3 * scale)));
        if (standardized) {
          sk.fits.lbfgs!.coef.forEach((v, k) => expect(Math.abs(theta[k]! - v)).toBeLessThanOrEqual(1e-4 * scale));
        }
        exact.proba.forEach((v, i) => expect(Math.abs(ours[i]! - v)).toBeLessThan(1e-7));
        expect(auc(test.y, ours)).toBeCloseTo(sk.aucOurs, 14);
      });
    }
  }

  it('scores from a JSON round trip are bit-identical, and bad JSON names the path', () => {
    const { x, y } = syntheticData(800, 5, 3, 'linear');
    const model = fitLogistic(matrix(x, 800, 5), y, { C: 1 });
    const back = parseModel(serializeModel(model));
    expect(Array.from(predictProbability(back, matrix(x, 800, 5)))).toEqual(Array.from(predictLogistic(model, matrix(x, 800, 5))));
    const doc = JSON.parse(serializeModel(model)) as Record<string, unknown>;
    expect(() => parseModel(JSON.stringify({ ...doc, version: 2 }))).toThrow(/\$\.version: expected 1/);
    expect(() => parseModel(JSON.stringify({ ...doc, coef: [1, 2] }))).toThrow(/\$\.coef: expected 5 numbers/);
    try {
      parseModel('{');
    } catch (e) {
      expect(isStrataError(e) && e.code).toBe('INPUT_INVALID');
    }
  });
});

describe.skipIf(!hasSklearn)('evaluation metrics (oracles: sklearn.metrics, sklearn.calibration, numpy)', () => {
  const n = 3001;
  const rand = mulberry32(5);
  const y = new Uint8Array(n);
  const coarse = new Float64Array(n); // many ties
  const fine = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const q = rand();
    y[i] = rand() < q ? 1 : 0;
    coarse[i] = Math.round(q * 10) / 10;
    fine[i] = i % 97 === 0 ? (i % 2 === 0 ? 0 : 1) : Math.min(1, Math.max(0, q + 0.1 * (rand() - 0.5)));
  }

  for (const [label, s] of [['tied scores', coarse], ['fine scores with exact 0 and 1', fine]] as const) {
    it(`${label}: AUC, log loss, calibration_curve(quantile) and lift/gains`, () => {
      const ours = {
        auc: auc(y, s),
        logLoss: logLoss(y, s),
        cal10: calibrationTable(y, s, 10),
        cal7: calibrationTable(y, s, 7),
        lift: liftTable(y, s, 10),
      };
      const sk = runOracle<{ auc: number; logLoss: number; cal: Record<string, number[][]>; lift: number[][] }>({ n, y, scores: s }, `
from sklearn.metrics import roc_auc_score, log_loss
from sklearn.calibration import calibration_curve
cal = {}
for k in (10, 7):
    t, p = calibration_curve(y, s, n_bins=k, strategy='quantile')
    cal[str(k)] = [t.tolist(), p.tolist()]
order = np.argsort(-s, kind='stable')
lift, cum, total = [], 0, y.sum()
for part in np.array_split(order, 10):
    cum += y[part].sum()
    lift.append([len(part), int(y[part].sum()), y[part].mean() / y.mean(), cum / total])
out({"auc": roc_auc_score(y, s), "logLoss": log_loss(y, s), "cal": cal, "lift": lift})`);
      expect(ours.auc).toBeCloseTo(sk.auc, 14);
      expect(ours.logLoss).toBeCloseTo(sk.logLoss, 12);
      for (const [k, table] of [['10', ours.cal10], ['7', ours.cal7]] as const) {
        const [trueRate, meanPred] = sk.cal[k]!;

        table.forEach((b, i) => {
          expect(b.observedRate).toBeCloseTo(trueRate![i]!, 12);
          expect(b.meanPredicted).toBeCloseTo(meanPred![i]!, 12);
        });
        expect(table.length).toBe(trueRate!.length);
        expect(table.reduce((a, b) => a + b.count, 0)).toBe(n);
      }
      sk.lift.forEach(([count, positives, lift, gains], g) => {
        const row = ours.lift[g]!;
        expect([row.count, row.positives]).toEqual([count, positives]);
        expect(row.lift).toBeCloseTo(lift!, 12);
        expect(row.cumulativeGains).toBeCloseTo(gains!, 12);
      });
      expect(ours.lift[9]!.cumulativeGains).toBe(1);
    });
  }

  it('AUC of one class and lengths that differ are errors', () => {
    expect(() => auc(new Uint8Array([1, 1]), new Float64Array([0.2, 0.3]))).toThrow(/only one class/);
    expect(() => logLoss(new Uint8Array([1]), new Float64Array([0.2, 0.3]))).toThrow(/differ in length/);
  });
});

describe('gradient-boosted trees', () => {
  const n = 20000;
  const p = 6;
  const train = syntheticData(n, p, 21, 'nonlinear');
  const test = syntheticData(10000, p, 22, 'nonlinear');
  const model = fitGbt(matrix(train.x, n, p), train.y, { maxIter: 60 });
  const proba = predictGbt(model, matrix(test.x, 10000, p));

  it.skipIf(!hasSklearn)('bin thresholds equal sklearn _BinMapper (midpoints of distinct values, midpoint percentiles)', () => {
    const m = 3000;
    const rand = mulberry32(4);
    const x = new Float64Array(m * 3);
    for (let i = 0; i < m; i++) {
      x[i * 3] = Math.floor(rand() * 12); // 12 distinct values
      x[i * 3 + 1] = normals(rand, 1)[0]!; // all distinct
      x[i * 3 + 2] = Math.round(rand() * 400) / 4; // ~400 distinct, ties
    }
    const ours = findBinThresholds(matrix(x, m, 3), 255, 0);
    const sk = runOracle<number[][]>({ x, n: m, p: 3 }, `
from sklearn.ensemble._hist_gradient_boosting.binning import _BinMapper
out([np.unique(t).tolist() for t in _BinMapper(n_bins=256).fit(X).bin_thresholds_])`);
    sk.forEach((t, j) => expect(Array.from(ours[j]!)).toEqual(t));
  });

  it.skipIf(!hasSklearn)('reaches the AUC of sklearn HistGradientBoostingClassifier (same settings) within 0.01', () => {
    const sk = runOracle<{ auc: number }>(
      { x: new Float64Array([...train.x, ...test.x]), n: n + 10000, p, y: new Uint8Array([...train.y, ...test.y]) },
      `
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
m = HistGradientBoostingClassifier(max_iter=60, learning_rate=0.1, max_leaf_nodes=31, min_samples_leaf=20,
                                   l2_regularization=0.0, max_bins=255, early_stopping=False, random_state=0)
m.fit(X[:${n}], y[:${n}])
out({"auc": roc_auc_score(y[${n}:], m.predict_proba(X[${n}:])[:, 1])})`,
    );
    const ours = auc(test.y, proba);
    expect(Math.abs(ours - sk.auc)).toBeLessThan(0.01);
    expect(ours).toBeGreaterThan(0.8);
  });

  it('predictions lie in (0, 1), training loss never rises, leaves respect minSamplesLeaf', () => {
    for (const v of proba) expect(v > 0 && v < 1).toBe(true);
    for (let k = 1; k < model.trainLoss.length; k++) expect(model.trainLoss[k]!).toBeLessThanOrEqual(model.trainLoss[k - 1]! + 1e-12);
    expect(model.trees).toHaveLength(60);
    for (const tree of model.trees) {
      let leaves = 0;
      tree.feature.forEach((f, node) => {
        if (f < 0) {
          leaves++;
          expect(tree.count[node]!).toBeGreaterThanOrEqual(20);
        }
      });
      expect(leaves).toBeLessThanOrEqual(31);
    }
  });

  it('separates a separable set perfectly and respects maxDepth', () => {
    const m = 2000;
    const rand = mulberry32(9);
    const x = new Float64Array(m * 2);
    const y = new Uint8Array(m);
    for (let i = 0; i < m; i++) {
      x[i * 2] = rand() * 2 - 1;
      x[i * 2 + 1] = rand();
      y[i] = x[i * 2]! > 0.25 ? 1 : 0;
    }
    const sep = fitGbt(matrix(x, m, 2), y, { maxIter: 50, maxDepth: 2 });
    expect(auc(y, predictGbt(sep, matrix(x, m, 2)))).toBe(1);
    expect(sep.trainLoss.at(-1)!).toBeLessThan(0.01);
    for (const tree of sep.trees) expect(depth(tree.left, tree.right, 0)).toBeLessThanOrEqual(2);
    expect(featureImportance(sep)[0]!.feature).toBe('f0');
    expect(featureImportance(sep)[0]!.importance).toBeGreaterThan(0.99);
  });

  it('is deterministic and round-trips through JSON bit for bit', () => {
    const again = fitGbt(matrix(train.x, n, p), train.y, { maxIter: 60 });
    expect(serializeModel(again)).toBe(serializeModel(model));
    const back = parseModel(serializeModel(model));
    expect(Array.from(predictProbability(back, matrix(test.x, 10000, p)))).toEqual(Array.from(proba));
  });

  it('early stopping on pure noise stops well before maxIter', () => {
    const noise = syntheticData(5000, 4, 33, 'linear');
    const rand = mulberry32(1);
    for (let i = 0; i < noise.y.length; i++) noise.y[i] = rand() < 0.3 ? 1 : 0;
    const m = fitGbt(matrix(noise.x, 5000, 4), noise.y, { maxIter: 200, earlyStopping: true, seed: 3 });
    expect(m.trees.length).toBeLessThan(60);
    expect(m.validationLoss).toHaveLength(m.trees.length + 1);
  });

  it('Saabas contributions add up to the raw score; importance favours the informative features', () => {
    const x = matrix(test.x, 10000, p);
    const raw = gbtDecision(model, x);
    for (const row of [0, 17, 4242]) {
      const e = explainRow(model, x, row, 3);
      const sum = e.contributions.reduce((a, b) => a + b, e.base);
      expect(sum).toBeCloseTo(raw[row]!, 10);
      expect(e.reasons).toHaveLength(3);
      expect(Math.abs(e.reasons[0]!.contribution)).toBeGreaterThanOrEqual(Math.abs(e.reasons[2]!.contribution));
    }
    const importance = featureImportance(model);
    expect(importance.reduce((a, b) => a + b.importance, 0)).toBeCloseTo(1, 12);
    // Labels depend on f0..f4 only; f5 is noise.
    expect(importance.at(-1)!.feature).toBe('f5');
  });
});

describe.skipIf(!hasSklearn)('logistic explanations (oracle: sklearn pipeline StandardScaler + LogisticRegression)', () => {
  it('importance is |standardized coefficient| and contributions add up to the log-odds', () => {
    const n = 3000;
    const p = 6;
    const { x, y } = syntheticData(n, p, 13, 'linear');
    const xm = matrix(x, n, p);
    for (const standardized of [true, false]) {
      const model = fitLogistic(xm, y, { C: 10, standardize: standardized });
      const importance = featureImportance(model);
      const sk = runOracle<number[]>({ x, n, p, y }, `
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
# Standardized: the pipeline's coefficients; raw: the raw fit's coefficients times the sds.
if ${standardized ? 'True' : 'False'}:
    out(np.abs(LogisticRegression(C=10, tol=1e-10, max_iter=100, solver='newton-cg').fit(StandardScaler().fit_transform(X), y).coef_[0]).tolist())
else:
    out(np.abs(LogisticRegression(C=10, tol=1e-10, max_iter=100, solver='newton-cg').fit(X, y).coef_[0] * X.std(axis=0)).tolist())`);
      for (const row of importance) expect(row.raw).toBeCloseTo(sk[Number(row.feature.slice(1))]!, 6);
      const z = logisticDecision(model, xm);
      const e = explainRow(model, xm, 5, 2);
      expect(e.contributions.reduce((a, b) => a + b, e.base)).toBeCloseTo(z[5]!, 10);
    }
  });
});

function depth(left: Int32Array, right: Int32Array, node: number): number {
  return left[node]! < 0 ? 0 : 1 + Math.max(depth(left, right, left[node]!), depth(left, right, right[node]!));
}

describe('gradient-boosted trees: edge cases', () => {
  it('never splits on a constant feature, and rejects a single class or bad settings', () => {
    const m = 400;
    const rand = mulberry32(2);
    const x = new Float64Array(m * 2);
    const y = new Uint8Array(m);
    for (let i = 0; i < m; i++) {
      x[i * 2] = 7; // constant
      x[i * 2 + 1] = rand();
      y[i] = rand() < x[i * 2 + 1]! ? 1 : 0;
    }
    const model = fitGbt(matrix(x, m, 2), y, { maxIter: 10 });
    for (const tree of model.trees) for (const f of tree.feature) expect(f).not.toBe(0);
    expect(featureImportance(model).find((r) => r.feature === 'f0')!.importance).toBe(0);
    expect(() => fitGbt(matrix(x, m, 2), new Uint8Array(m), {})).toThrow(/both classes/);
    expect(() => fitGbt(matrix(x, m, 2), y, { maxBins: 256 })).toThrow(/maxBins must be an integer in \[2, 255\]/);
    expect(() => fitLogistic(matrix(x, m, 2), y, { C: 0 })).toThrow(/C must be a positive number/);
  });
});

describe('AUC and lift properties (oracle: brute-force pair counting)', () => {
  it('AUC is the share of (positive, negative) pairs ordered right, ties ½; lift gains end at 1', () => {
    const numRuns = process.env.CI ? 500 : 150;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 6 })), { minLength: 2, maxLength: 60 }),
        (rows) => {
          const y = Uint8Array.from(rows.map(([b]) => (b ? 1 : 0)));
          const s = Float64Array.from(rows.map(([, v]) => v / 6));
          const pos = rows.filter(([b]) => b);
          const neg = rows.filter(([b]) => !b);
          if (pos.length === 0 || neg.length === 0) {
            expect(() => auc(y, s)).toThrow();
            return;
          }
          let wins = 0;
          for (const [, a] of pos) for (const [, b] of neg) wins += a > b ? 1 : a === b ? 0.5 : 0;
          expect(auc(y, s)).toBeCloseTo(wins / (pos.length * neg.length), 12);
          const flipped = Uint8Array.from(y, (v) => 1 - v);
          expect(auc(flipped, s)).toBeCloseTo(1 - auc(y, s), 12);
          const groups = Math.min(10, rows.length);
          const lift = liftTable(y, s, groups);
          expect(lift.reduce((a, r) => a + r.count, 0)).toBe(rows.length);
          expect(lift.at(-1)!.cumulativeGains).toBeCloseTo(1, 12);
          expect(lift.at(-1)!.cumulativeLift).toBeCloseTo(1, 12);
        },
      ),
      { numRuns },
    );
  });
});
