/**
 * Persona descriptions. For each cluster and feature, the standardized mean difference of the
 * cluster against the rest of the population (Cohen's d: difference of means over the pooled
 * sample standard deviation); the features with the largest |d| describe the cluster.
 * d is unchanged by standardization, so pass the clustering features (after any log1p) in
 * either scale; `means` are in the units given.
 *
 * Naming rule (deterministic, documented in docs/models.md):
 * - a feature distinguishes a cluster when |d| >= 0.2 (Cohen's "small"); its phrase is the
 *   feature's own `high`/`low` label when given, else "very high X" / "very low X" for
 *   |d| >= 1.2 and "high X" / "low X" otherwise (X = the feature's label, default its name with
 *   `_` as spaces);
 * - the description joins the phrases of the (up to) 3 most distinguishing features, largest |d|
 *   first, ties by feature order: "High sessions, high projects, low days since first seen";
 * - the name is the first two phrases joined by " & ", first letter capitalized; a cluster with
 *   no distinguishing feature is "Typical users";
 * - names are unique within a model: clusters are named largest first (ties by index) and a
 *   name already taken gets the next phrase added, then " (2)", " (3)"... .
 */
import { StrataError } from '../../errors/errors.js';
import type { Matrix } from './matrix.js';

export interface FeatureLabel {
  /** Readable feature name (default: the name with `_` as spaces). */
  readonly label?: string;
  /** Phrase for a cluster above the rest, e.g. "frequent visitors". */
  readonly high?: string;
  /** Phrase for a cluster below the rest, e.g. "new users". */
  readonly low?: string;
}

export interface DistinguishingFeature {
  readonly feature: string;
  /** Standardized mean difference, cluster minus rest. */
  readonly smd: number;
  readonly clusterMean: number;
  readonly restMean: number;
  readonly phrase: string;
}

export interface PersonaDescription {
  readonly cluster: number;
  readonly size: number;
  readonly share: number;
  readonly name: string;
  readonly description: string;
  /** Up to `top` features with |d| >= 0.2, most distinguishing first. */
  readonly features: DistinguishingFeature[];
}

export interface DescribeOptions {
  readonly labels?: Readonly<Record<string, FeatureLabel>>;
  /** How many features describe a cluster (default 3). */
  readonly top?: number;
}

export const DISTINGUISHING_SMD = 0.2;
export const VERY_SMD = 1.2;
export const TYPICAL_NAME = 'Typical users';

interface Moments {
  readonly n: Float64Array;
  readonly sum: Float64Array;
  readonly sq: Float64Array;
}

/** Per-cluster counts, sums and sums of squared deviations from the column means (shifted for precision). */
function clusterMoments(x: Matrix, labels: Int32Array, k: number, shift: Float64Array): Moments {
  const { rows, cols, data } = x;
  const n = new Float64Array(k);
  const sum = new Float64Array(k * cols);
  const sq = new Float64Array(k * cols);
  for (let i = 0; i < rows; i++) {
    const c = labels[i]!;
    n[c]! += 1;
    for (let f = 0; f < cols; f++) {
      const v = data[i * cols + f]! - shift[f]!;
      sum[c * cols + f]! += v;
      sq[c * cols + f]! += v * v;
    }
  }
  return { n, sum, sq };
}

/**
 * |d| is capped here: a feature constant inside both groups but different between them
 * separates them perfectly (d would be infinite), and the sums-of-squares form leaves a
 * rounding-level spread there that would otherwise print as d = -2.6e7.
 */
export const SMD_CAP = 100;

function smdOf(n1: number, s1: number, q1: number, n2: number, s2: number, q2: number): number {
  if (n1 < 1 || n2 < 1) return 0;
  const m1 = s1 / n1;
  const m2 = s2 / n2;
  let ss = q1 - n1 * m1 * m1 + (q2 - n2 * m2 * m2);
  // What is left of Σx² after subtracting n·m² is noise below ~1e-12 of Σx².
  if (ss <= 1e-12 * (Math.abs(q1) + Math.abs(q2))) ss = 0;
  const dof = n1 + n2 - 2;
  const pooled = dof > 0 ? Math.sqrt(ss / dof) : 0;
  if (m1 === m2) return 0;
  const d = pooled > 0 ? (m1 - m2) / pooled : Math.sign(m1 - m2) * SMD_CAP;
  return Math.max(-SMD_CAP, Math.min(SMD_CAP, d));
}

function phraseOf(feature: string, smd: number, label: FeatureLabel | undefined): string {
  const custom = smd > 0 ? label?.high : label?.low;
  if (custom) return custom;
  const name = label?.label ?? feature.replace(/_/g, ' ');
  const level = Math.abs(smd) >= VERY_SMD ? (smd > 0 ? 'very high' : 'very low') : smd > 0 ? 'high' : 'low';
  return `${level} ${name}`;
}

const capitalize = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export function describeClusters(x: Matrix, labels: Int32Array, k: number, features: readonly string[], options: DescribeOptions = {}): PersonaDescription[] {
  if (features.length !== x.cols) throw new StrataError('INPUT_INVALID', `${features.length} feature names for ${x.cols} columns`);
  if (labels.length !== x.rows) throw new StrataError('INPUT_INVALID', `${labels.length} labels for ${x.rows} rows`);
  const top = options.top ?? 3;
  const cols = x.cols;
  const shift = new Float64Array(cols);
  if (x.rows > 0) shift.set(x.data.subarray(0, cols));
  const m = clusterMoments(x, labels, k, shift);
  const total = { sum: new Float64Array(cols), sq: new Float64Array(cols) };
  for (let c = 0; c < k; c++) {
    for (let f = 0; f < cols; f++) {
      total.sum[f]! += m.sum[c * cols + f]!;
      total.sq[f]! += m.sq[c * cols + f]!;
    }
  }
  const described = Array.from({ length: k }, (_, c) => {
    const n1 = m.n[c]!;
    const n2 = x.rows - n1;
    const all = features.map((feature, f) => {
      const s1 = m.sum[c * cols + f]!;
      const q1 = m.sq[c * cols + f]!;
      const s2 = total.sum[f]! - s1;
      const q2 = total.sq[f]! - q1;
      const smd = smdOf(n1, s1, q1, n2, s2, q2);
      return {
        feature,
        smd,
        clusterMean: n1 > 0 ? s1 / n1 + shift[f]! : NaN,
        restMean: n2 > 0 ? s2 / n2 + shift[f]! : NaN,
        phrase: phraseOf(feature, smd, options.labels?.[feature]),
      };
    });
    const ranked = all
      .map((d, f) => ({ d, f }))
      .filter(({ d }) => Math.abs(d.smd) >= DISTINGUISHING_SMD)
      .sort((a, b) => Math.abs(b.d.smd) - Math.abs(a.d.smd) || a.f - b.f)
      .map(({ d }) => d);
    return { cluster: c, size: n1, share: x.rows > 0 ? n1 / x.rows : 0, ranked, features: ranked.slice(0, top) };
  });
  const names = uniqueNames(described.map((d) => ({ cluster: d.cluster, size: d.size, phrases: d.ranked.map((r) => r.phrase) })));
  return described.map((d) => ({
    cluster: d.cluster,
    size: d.size,
    share: d.share,
    name: names[d.cluster]!,
    description: d.features.length > 0 ? capitalize(d.features.map((f) => f.phrase).join(', ')) : TYPICAL_NAME,
    features: d.features,
  }));
}

/** Names by the rule in the header; largest cluster first so the biggest persona keeps the shortest name. */
export function uniqueNames(clusters: readonly { cluster: number; size: number; phrases: readonly string[] }[]): string[] {
  const order = [...clusters].sort((a, b) => b.size - a.size || a.cluster - b.cluster);
  const taken = new Set<string>();
  const names: string[] = [];
  for (const c of order) {
    const base = (count: number) => (c.phrases.length === 0 ? TYPICAL_NAME : capitalize(c.phrases.slice(0, count).join(' & ')));
    let name = base(Math.min(2, c.phrases.length));
    for (let count = 3; taken.has(name) && count <= c.phrases.length; count++) name = base(count);
    const stem = name;
    for (let i = 2; taken.has(name); i++) name = `${stem} (${i})`;
    taken.add(name);
    names[c.cluster] = name;
  }
  return names;
}
