/**
 * Models as JSON, versioned: `{"format": "strata-model", "version": 1, "kind": ...}`.
 * Numbers are written with JavaScript's shortest round-trip form, so a model read back scores
 * bit for bit as the one written. Version 1 layouts:
 * - logistic: features, C, coef, intercept, standardized, means, sds, iterations, converged,
 *   objective (coef on the standardized scale when standardized);
 * - gbt: features, baseline, learningRate, trainLoss, validationLoss (or null), trees: per tree
 *   the parallel arrays feature (−1 at leaves), threshold, left, right, value, gain, count.
 * Reading checks every field and names the JSON path of the first one that is wrong.
 */
import { StrataError } from '../../errors/errors.js';
import type { LearnedModel } from './explain.js';
import type { GbtModel, Tree } from './gbt.js';
import type { LogisticModel } from './logistic.js';

export const MODEL_FORMAT = 'strata-model';
export const MODEL_FORMAT_VERSION = 1;

export function modelToJson(model: LearnedModel): Record<string, unknown> {
  const head = { format: MODEL_FORMAT, version: MODEL_FORMAT_VERSION, kind: model.kind, features: [...model.names] };
  if (model.kind === 'logistic') {
    return {
      ...head,
      C: model.C,
      coef: Array.from(model.coef),
      intercept: model.intercept,
      standardized: model.standardized,
      means: Array.from(model.standardizer.means),
      sds: Array.from(model.standardizer.sds),
      iterations: model.iterations,
      converged: model.converged,
      objective: model.objective,
    };
  }
  return {
    ...head,
    baseline: model.baseline,
    learningRate: model.learningRate,
    trainLoss: [...model.trainLoss],
    validationLoss: model.validationLoss ? [...model.validationLoss] : null,
    trees: model.trees.map((t) => ({
      feature: Array.from(t.feature),
      threshold: Array.from(t.threshold),
      left: Array.from(t.left),
      right: Array.from(t.right),
      value: Array.from(t.value),
      gain: Array.from(t.gain),
      count: Array.from(t.count),
    })),
  };
}

export function serializeModel(model: LearnedModel): string {
  return JSON.stringify(modelToJson(model));
}

export function parseModel(text: string, source = 'model'): LearnedModel {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StrataError('INPUT_INVALID', `${source}: not JSON (${(e as Error).message})`);
  }
  return modelFromJson(doc, source);
}

export function modelFromJson(doc: unknown, source = 'model'): LearnedModel {
  const r = new Reader(source);
  const o = r.object(doc, '$');
  if (o.format !== MODEL_FORMAT) r.fail('$.format', `"${MODEL_FORMAT}"`, o.format);
  if (o.version !== MODEL_FORMAT_VERSION) r.fail('$.version', `${MODEL_FORMAT_VERSION} (this Strata reads model format version ${MODEL_FORMAT_VERSION})`, o.version);
  const names = r.strings(o.features, '$.features');
  const p = names.length;
  if (o.kind === 'logistic') {
    const means = r.numbers(o.means, '$.means', p);
    const sds = r.numbers(o.sds, '$.sds', p);
    const model: LogisticModel = {
      kind: 'logistic',
      names,
      C: r.number(o.C, '$.C'),
      coef: r.numbers(o.coef, '$.coef', p),
      intercept: r.number(o.intercept, '$.intercept'),
      standardizer: { names, means, sds },
      standardized: r.boolean(o.standardized, '$.standardized'),
      iterations: r.number(o.iterations, '$.iterations'),
      converged: r.boolean(o.converged, '$.converged'),
      objective: r.number(o.objective, '$.objective'),
    };
    return model;
  }
  if (o.kind === 'gbt') {
    const trees = r.array(o.trees, '$.trees').map((t, k) => readTree(r, t, `$.trees[${k}]`, p));
    const model: GbtModel = {
      kind: 'gbt',
      names,
      baseline: r.number(o.baseline, '$.baseline'),
      learningRate: r.number(o.learningRate, '$.learningRate'),
      trainLoss: Array.from(r.numbers(o.trainLoss, '$.trainLoss')),
      validationLoss: o.validationLoss === null ? null : Array.from(r.numbers(o.validationLoss, '$.validationLoss')),
      trees,
    };
    return model;
  }
  return r.fail('$.kind', '"logistic" or "gbt"', o.kind);
}

function readTree(r: Reader, raw: unknown, at: string, p: number): Tree {
  const t = r.object(raw, at);
  const feature = Int32Array.from(r.numbers(t.feature, `${at}.feature`));
  const m = feature.length;
  const tree: Tree = {
    feature,
    threshold: r.numbers(t.threshold, `${at}.threshold`, m),
    left: Int32Array.from(r.numbers(t.left, `${at}.left`, m)),
    right: Int32Array.from(r.numbers(t.right, `${at}.right`, m)),
    value: r.numbers(t.value, `${at}.value`, m),
    gain: r.numbers(t.gain, `${at}.gain`, m),
    count: Int32Array.from(r.numbers(t.count, `${at}.count`, m)),
  };
  if (m === 0) r.fail(`${at}.feature`, 'at least one node', '[]');
  // Children must come after their parent, so walking a tree always ends.
  for (let k = 0; k < m; k++) {
    const f = feature[k]!;
    if (f === -1) continue;
    if (!(f >= 0 && f < p)) r.fail(`${at}.feature[${k}]`, `-1 or a feature index below ${p}`, f);
    for (const [side, child] of [['left', tree.left[k]!], ['right', tree.right[k]!]] as const) {
      if (!(child > k && child < m)) r.fail(`${at}.${side}[${k}]`, `a node index in (${k}, ${m})`, child);
    }
  }
  return tree;
}

class Reader {
  constructor(private readonly source: string) {}

  fail(path: string, expected: string, got: unknown): never {
    throw new StrataError('INPUT_INVALID', `${this.source}: ${path}: expected ${expected}, got ${JSON.stringify(got) ?? String(got)}`, [
      { path, message: `expected ${expected}` },
    ]);
  }

  object(v: unknown, path: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, 'an object', v);
    return v as Record<string, unknown>;
  }

  array(v: unknown, path: string): unknown[] {
    if (!Array.isArray(v)) this.fail(path, 'an array', v);
    return v as unknown[];
  }

  number(v: unknown, path: string): number {
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(path, 'a finite number', v);
    return v as number;
  }

  boolean(v: unknown, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, 'true or false', v);
    return v as boolean;
  }

  numbers(v: unknown, path: string, length?: number): Float64Array {
    const a = this.array(v, path);
    if (length !== undefined && a.length !== length) this.fail(path, `${length} numbers`, `${a.length} values`);
    return Float64Array.from(a.map((x, k) => this.number(x, `${path}[${k}]`)));
  }

  strings(v: unknown, path: string): string[] {
    return this.array(v, path).map((x, k) => {
      if (typeof x !== 'string') this.fail(`${path}[${k}]`, 'a string', x);
      return x as string;
    });
  }
}
