/**
 * From segment IR to the streaming evaluator's plan: every leaf condition of every
 * segment becomes a Leaf over a Measure; measures, series (the matching events of one
 * filter), session gaps and event anchors are shared across segments whenever their
 * definitions coincide. Each segment's boolean structure becomes a small function over
 * its leaves' results.
 *
 * The IR is consumed through ConditionVisitor, so a new node kind does not build until
 * it is handled here too.
 */
import { createHash } from 'node:crypto';
import { StrataError } from '../../errors/errors.js';
import { applyComparison } from '../evaluate/compare.js';
import type { MemoryValue } from '../evaluate/index.js';
import { visit, type Comparison, type Condition, type ConditionVisitor, type EventFilter, type PropertyPredicate, type SegmentIR, type Window } from '../ir/nodes.js';
import { CompareLeaf, ScoreLeaf, TraitLeaf, type Leaf } from './stream-leaves.js';
import {
  ActiveDaysMeasure,
  AggregateMeasure,
  ChainMeasure,
  CountMeasure,
  RegularlyMeasure,
  SeenMeasure,
  SeriesMeasure as SeriesMeasureClass,
  SessionsMeasure,
  type AnchorSpec,
  type GapSpec,
  type Measure,
  type SeriesMeasure,
  type SeriesSpec,
} from './stream-measures.js';
import { ModelScores } from './stream-scores.js';
import { ConsentMeasure } from './stream-consent.js';
import { consentPurposeFilter } from '../ir/consent-filters.js';
import { GRANTED_PROPERTY } from '../../privacy/consent/consent-event.js';
import { isDynamicPredicate, relativeOffsets, type DynamicPredicate, type MeasureMode, type WindowSpec } from './stream-windows.js';

export interface SegmentProgram {
  readonly index: number;
  readonly key: string;
  /** sha256 of the segment's IR: a changed definition (or a referenced one, or the plan's session gap) changes it. */
  readonly hash: string;
  /**
   * From the user's state array (UserState.state): the instant membership may next change
   * without input, with the membership itself left in `PROGRAM_RESULT.value`.
   */
  readonly run: (leaves: readonly number[]) => number;
}

/** Where a program leaves its boolean result (evaluation is one user at a time). */
export const PROGRAM_RESULT = { value: false };

export interface Dispatch {
  readonly series: readonly SeriesSpec[];
  readonly anchors: readonly AnchorSpec[];
}

export interface StreamPlan {
  readonly segments: readonly SegmentProgram[];
  readonly series: readonly SeriesSpec[];
  readonly gaps: readonly GapSpec[];
  readonly anchors: readonly AnchorSpec[];
  readonly measures: readonly Measure[];
  readonly leaves: readonly Leaf[];
  /** Measures over series with a sealed summary, folded as the seal point advances (sessions are folded per gap). */
  readonly folded: readonly Measure[];
  /** Numeric summaries kept in each user's state array (Measure.slot). */
  readonly slots: number;
  /** Leaves that read traits (directly, or through a trait-anchored window). */
  readonly traitLeaves: readonly number[];
  /** The models `score` / `cluster` leaves read, by key, with their runs (stream-scores.ts). */
  readonly models: ReadonlyMap<string, ModelScores>;
  /** Per leaf: the segments whose condition holds it. */
  readonly leafSegments: readonly (readonly number[])[];
  /** Identifies the state layout: the segments, in order, with their hashes. */
  readonly layout: string;
  dispatch(event: string): Dispatch;
}

/**
 * A compiled condition: returns the instant its result may next change without input and
 * leaves the result in PROGRAM_RESULT.value. A leaf's bound is its own next-change
 * instant. `and` that is false stays false while any false child does, so until the latest
 * of their bounds; true, until the first child may change. `or` is the dual. So a leaf
 * that cannot change membership (under a false `and`) does not wake the user.
 */
type Program = (v: readonly number[]) => number;

const GTE = (n: number): Comparison => ({ op: 'gte', value: { kind: 'number', value: n } });
/** A consent measure's value is the decision itself. */
const IS_TRUE: Comparison = { op: 'eq', value: { kind: 'boolean', value: true } };

export function compileStreamPlan(segments: readonly SegmentIR[]): StreamPlan {
  const sorted = [...segments].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]!.key === sorted[i - 1]!.key) {
      throw new StrataError('INPUT_INVALID', `segment "${sorted[i]!.key}" is given twice`, [{ path: 'segments', message: 'expected each segment key once' }]);
    }
  }
  const b = new PlanBuilder();
  const leafSegments: number[][] = [];
  const programs: SegmentProgram[] = sorted.map((s, index) => {
    const hash = createHash('sha256').update(JSON.stringify(s.root)).digest('hex');
    b.leafIndicesUsed.clear();
    const run = b.program(s.root);
    for (const leaf of b.leafIndicesUsed) (leafSegments[leaf] ??= []).push(index);
    return { index, key: s.key, hash, run };
  });
  return b.finish(programs, b.leaves.map((_, i) => leafSegments[i] ?? []));
}

class PlanBuilder {
  readonly series: SeriesSpec[] = [];
  readonly gaps: GapSpec[] = [];
  readonly anchors: AnchorSpec[] = [];
  readonly measures: Measure[] = [];
  readonly leaves: Leaf[] = [];
  private readonly seriesByKey = new Map<string, SeriesSpec>();
  private readonly anchorByKey = new Map<string, AnchorSpec>();
  private readonly measureByKey = new Map<string, Measure>();
  private readonly leafByKey = new Map<string, number>();
  /** The leaves programs built since it was last cleared refer to. */
  readonly leafIndicesUsed = new Set<number>();

  private readonly visitor: ConditionVisitor<Program> = {
    and: (n) => {
      const parts = n.children.map((c) => this.program(c));
      return (v) => {
        let all = true;
        let firstChange = Infinity;
        let lastFalseChange = -Infinity;
        for (const p of parts) {
          const next = p(v);
          if (PROGRAM_RESULT.value) {
            if (next < firstChange) firstChange = next;
          } else {
            all = false;
            if (next > lastFalseChange) lastFalseChange = next;
          }
        }
        PROGRAM_RESULT.value = all;
        return all ? firstChange : lastFalseChange;
      };
    },
    or: (n) => {
      const parts = n.children.map((c) => this.program(c));
      return (v) => {
        let any = false;
        let firstChange = Infinity;
        let lastTrueChange = -Infinity;
        for (const p of parts) {
          const next = p(v);
          if (PROGRAM_RESULT.value) {
            any = true;
            if (next > lastTrueChange) lastTrueChange = next;
          } else if (next < firstChange) firstChange = next;
        }
        PROGRAM_RESULT.value = any;
        return any ? lastTrueChange : firstChange;
      };
    },
    not: (n) => {
      const inner = this.program(n.child);
      return (v) => {
        const next = inner(v);
        PROGRAM_RESULT.value = !PROGRAM_RESULT.value;
        return next;
      };
    },
    trait: (n) => this.leafProgram(n, () => new TraitLeaf(n.trait, n.cmp)),
    eventCount: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure('count', n.filter, n.window, (series, dynamic, w) => new CountMeasure(series, dynamic, w.spec, w.mode, w.anchorSeries));
        return new CompareLeaf(m, n.cmp, false, true);
      }),
    aggregate: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure(`aggregate:${n.fn}:${JSON.stringify(n.property)}`, n.filter, n.window, (series, dynamic, w) => {
          const prop = registerProp(series, n.property);
          return new AggregateMeasure(series, dynamic, w.spec, w.mode, w.anchorSeries, n.fn, prop);
        });
        return new CompareLeaf(m, n.cmp, false, n.fn === 'distinct');
      }),
    activeDays: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure('activeDays', n.filter, n.window, (series, dynamic, w) => new ActiveDaysMeasure(series, dynamic, w.spec, w.mode, w.anchorSeries));
        return new CompareLeaf(m, n.cmp, false, true);
      }),
    lastSeen: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure('lastSeen', n.filter, n.window, (series, dynamic, w) => new SeenMeasure(series, dynamic, w.spec, w.mode, w.anchorSeries, 'last'));
        return new CompareLeaf(m, n.cmp, true, false);
      }),
    firstSeen: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure('firstSeen', n.filter, n.window, (series, dynamic, w) => new SeenMeasure(series, dynamic, w.spec, w.mode, w.anchorSeries, 'first'));
        return new CompareLeaf(m, n.cmp, true, false);
      }),
    sequence: (n) => this.leafProgram(n, () => new CompareLeaf(this.chainMeasure(n.steps, n.spanMs, n.window), GTE(n.steps.length), false, true)),
    funnel: (n) => this.leafProgram(n, () => new CompareLeaf(this.chainMeasure(n.steps, n.spanMs, n.window), n.cmp, false, true)),
    regularly: (n) =>
      this.leafProgram(n, () => {
        const key = `regularly:${JSON.stringify([n.filter, n.periodMs, n.periods, n.times])}`;
        const m = this.measure(key, () => {
          const { series, dynamic } = this.filterSeries(n.filter);
          series.lookback = Math.max(series.lookback, n.periods * n.periodMs);
          return new RegularlyMeasure(series, dynamic, n.periodMs, n.periods, n.times);
        });
        return new CompareLeaf(m, GTE(n.atLeast), false, true);
      }),
    sessions: (n) => this.leafProgram(n, () => new CompareLeaf(this.sessionsMeasure(n.gapMs, 'count', n.window), n.cmp, false, true)),
    sessionDuration: (n) => this.leafProgram(n, () => new CompareLeaf(this.sessionsMeasure(n.gapMs, n.stat, n.window), n.cmp, false, false, true)),
    score: (n) => this.leafProgram(n, () => new ScoreLeaf(this.model(n.model), n.measure, n.cmp)),
    cluster: (n) => this.leafProgram(n, () => new ScoreLeaf(this.model(n.model), 'cluster', n.cmp)),
    consent: (n) =>
      this.leafProgram(n, () => {
        const m = this.seriesMeasure(`consent:${n.defaultGranted}`, consentPurposeFilter(n.purpose), { kind: 'all' }, (series, _dynamic, w) => {
          return new ConsentMeasure(series, w.spec, w.mode, registerProp(series, GRANTED_PROPERTY), n.defaultGranted);
        });
        return new CompareLeaf(m, IS_TRUE, false, false);
      }),
  };

  readonly models = new Map<string, ModelScores>();

  private model(key: string): ModelScores {
    let m = this.models.get(key);
    if (!m) this.models.set(key, (m = new ModelScores(key, this.models.size)));
    return m;
  }

  program(node: Condition): Program {
    return visit(node, this.visitor);
  }

  private leafProgram(node: Condition, make: () => Leaf): Program {
    const key = JSON.stringify(node);
    let index = this.leafByKey.get(key);
    if (index === undefined) {
      const leaf = make();
      index = this.leaves.length;
      leaf.index = index;
      this.leaves.push(leaf);
      this.leafByKey.set(key, index);
    }
    this.leafIndicesUsed.add(index);
    const at = 2 * index;
    return (v) => {
      PROGRAM_RESULT.value = v[at + 1] === 1;
      return v[at]!;
    };
  }

  private measure<M extends Measure>(key: string, make: () => M): M {
    const found = this.measureByKey.get(key);
    if (found) return found as M;
    const m = make();
    m.index = this.measures.length;
    this.measures.push(m);
    this.measureByKey.set(key, m);
    return m;
  }

  /** The series of a filter's event and static predicates, and its dynamic predicates bound to payload slots. */
  private filterSeries(filter: EventFilter): { series: SeriesSpec; dynamic: DynamicPredicate[] } {
    const staticWhere = filter.where.filter((p) => !isDynamicPredicate(p));
    const key = JSON.stringify([filter.event, staticWhere]);
    let series = this.seriesByKey.get(key);
    if (!series) {
      series = { index: this.series.length, event: filter.event, where: staticWhere, props: [], lookback: -1, foldSlack: -1, keepAll: false, leaves: [], growLeaves: [], absorbers: [], stores: false };
      this.series.push(series);
      this.seriesByKey.set(key, series);
    }
    const s = series;
    const dynamic = filter.where.filter(isDynamicPredicate).map((p) => dynamicPredicate(s, p));
    return { series: s, dynamic };
  }

  private compileWindow(window: Window, dynamicFilter: boolean): CompiledWindow {
    switch (window.kind) {
      case 'relative':
        return { spec: { kind: 'sliding', startMs: window.startMs, endMs: window.endMs }, mode: 'sliding', anchorSeries: undefined };
      case 'all':
        return { spec: { kind: 'fixed', lo: -Infinity, hi: Infinity }, mode: dynamicFilter ? 'raw' : 'folded', anchorSeries: undefined };
      case 'absolute':
        return { spec: { kind: 'fixed', lo: window.fromMs, hi: window.toMs ?? Infinity }, mode: dynamicFilter ? 'raw' : 'folded', anchorSeries: undefined };
      case 'anchored': {
        const anchor = window.anchor;
        if (anchor.kind === 'trait') return { spec: { kind: 'traitAnchor', trait: anchor.trait, durationMs: window.durationMs }, mode: 'raw', anchorSeries: undefined };
        if (anchor.filter.where.some(isDynamicPredicate)) {
          const { series, dynamic } = this.filterSeries(anchor.filter);
          series.keepAll = true;
          return { spec: { kind: 'dynamicAnchor', series: series.index, dynamic, durationMs: window.durationMs }, mode: 'raw', anchorSeries: series };
        }
        const key = JSON.stringify(anchor.filter);
        let spec = this.anchorByKey.get(key);
        if (!spec) {
          spec = { index: this.anchors.length, event: anchor.filter.event, where: anchor.filter.where, leaves: [] };
          this.anchors.push(spec);
          this.anchorByKey.set(key, spec);
        }
        return { spec: { kind: 'eventAnchor', anchor: spec.index, durationMs: window.durationMs }, mode: dynamicFilter ? 'raw' : 'folded', anchorSeries: undefined };
      }
    }
  }

  private seriesMeasure(kind: string, filter: EventFilter, window: Window, make: (series: SeriesSpec, dynamic: DynamicPredicate[], w: CompiledWindow) => SeriesMeasure): Measure {
    return this.measure(`${kind}:${JSON.stringify([filter, window])}`, () => {
      const { series, dynamic } = this.filterSeries(filter);
      const w = this.compileWindow(window, dynamic.length > 0);
      const m = make(series, dynamic, w);
      if (w.mode === 'folded' && w.spec.kind === 'fixed' && m.absorbable) {
        m.mode = 'absorbed';
        m.absorbGrows = m.growsWith().includes(series);
        series.absorbers.push(m);
      } else retain(series, w, 0);
      return m;
    });
  }

  private chainMeasure(steps: readonly EventFilter[], spanMs: number | null, window: Window): Measure {
    return this.measure(`chain:${JSON.stringify([steps, spanMs, window])}`, () => {
      const compiled = steps.map((f) => this.filterSeries(f));
      const w = this.compileWindow(
        window,
        compiled.some((c) => c.dynamic.length > 0),
      );
      // A folded chain keeps raw events back to its oldest unfolded first event (seal point - span).
      for (const c of compiled) retain(c.series, w, spanMs ?? 0);
      return new ChainMeasure(
        compiled.map((c) => ({ series: c.series, dynamic: c.dynamic })),
        spanMs,
        w.spec,
        w.mode,
        w.anchorSeries,
      );
    });
  }

  private sessionsMeasure(gapMs: number, stat: 'count' | 'avg' | 'max' | 'total', window: Window): SessionsMeasure {
    return this.measure(`sessions:${stat}:${JSON.stringify([gapMs, window])}`, () => {
      let gap = this.gaps.find((g) => g.gapMs === gapMs);
      if (!gap) {
        gap = { index: this.gaps.length, gapMs, lookback: -1, keepAll: false, folded: [], countLeaves: [], sumLeaves: [], avgLeaves: [] };
        this.gaps.push(gap);
      }
      const w = this.compileWindow(window, false);
      const m = new SessionsMeasure(gap, stat, w.spec, w.mode, w.anchorSeries);
      if (w.mode === 'sliding') gap.lookback = Math.max(gap.lookback, (w.spec as { startMs: number }).startMs);
      else if (w.mode === 'folded') gap.folded.push(m);
      else gap.keepAll = true;
      return m;
    });
  }

  finish(segments: SegmentProgram[], leafSegments: readonly (readonly number[])[]): StreamPlan {
    const traitLeaves: number[] = [];
    for (const leaf of this.leaves) {
      if (leaf instanceof ScoreLeaf) {
        leaf.scores.leaves.push(leaf.index);
        continue;
      }
      const m = leaf.measure;
      if (!m) {
        traitLeaves.push(leaf.index);
        continue;
      }
      const deps = m.dependencies();
      const grows = m.growsWith();
      m.leaves.push(leaf.index);
      for (const s of deps.series) {
        // An absorbed measure dirties its own leaves, only when its summary changes.
        if (s.absorbers.includes(m as SeriesMeasure)) continue;
        (grows.includes(s) ? s.growLeaves : s.leaves).push(leaf.index);
      }
      for (const g of deps.gaps) {
        const stat = (m as SessionsMeasure).stat;
        (stat === 'count' ? g.countLeaves : stat === 'avg' ? g.avgLeaves : g.sumLeaves).push(leaf.index);
      }
      for (const a of deps.anchors) this.anchors[a]!.leaves.push(leaf.index);
      if (deps.traits) traitLeaves.push(leaf.index);
    }
    const folded = this.measures.filter((m) => m.mode === 'folded' && !(m instanceof SessionsMeasure));
    // Numeric summaries live in the user's state array, after the leaves and segments.
    let slots = 0;
    for (const m of this.measures) {
      if ((m.mode === 'folded' || m.mode === 'absorbed') && m instanceof SeriesMeasureClass && m.numericFold) m.slot = 2 * (this.leaves.length + segments.length) + slots++;
    }
    for (const s of this.series) s.stores = s.keepAll || s.lookback >= 0 || s.foldSlack >= 0;
    const layout = createHash('sha256')
      .update(JSON.stringify(segments.map((s) => [s.key, s.hash])))
      .digest('hex');
    const dispatchCache = new Map<string, Dispatch>();
    const series = this.series;
    const anchors = this.anchors;
    return {
      segments,
      series,
      gaps: this.gaps,
      anchors,
      measures: this.measures,
      leaves: this.leaves,
      folded,
      slots,
      traitLeaves,
      models: this.models,
      leafSegments,
      layout,
      dispatch(event: string): Dispatch {
        let d = dispatchCache.get(event);
        if (!d) {
          d = {
            series: series.filter((s) => s.event === null || s.event === event),
            anchors: anchors.filter((a) => a.event === null || a.event === event),
          };
          dispatchCache.set(event, d);
        }
        return d;
      },
    };
  }
}

interface CompiledWindow {
  readonly spec: WindowSpec;
  readonly mode: MeasureMode;
  readonly anchorSeries: SeriesSpec | undefined;
}

/** Record what a reader in `w` needs the series to keep. */
function retain(series: SeriesSpec, w: CompiledWindow, foldSlack: number): void {
  if (w.mode === 'sliding') series.lookback = Math.max(series.lookback, (w.spec as { startMs: number }).startMs);
  else if (w.mode === 'folded') series.foldSlack = Math.max(series.foldSlack, foldSlack);
  else series.keepAll = true;
}

export function registerProp(series: SeriesSpec, name: string): number {
  const i = series.props.indexOf(name);
  if (i >= 0) return i;
  series.props.push(name);
  return series.props.length - 1;
}

function dynamicPredicate(series: SeriesSpec, p: PropertyPredicate): DynamicPredicate {
  return { property: p.property, cmp: p.cmp, offsets: relativeOffsets(p.cmp), propIndex: registerProp(series, p.property) };
}

/** Own values only: a property named `constructor` must not find Object.prototype's. */
export function ownValue(record: Readonly<Record<string, MemoryValue>> | undefined, name: string): MemoryValue | undefined {
  return record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
}

/** Whether an event's properties pass predicates that do not move with the clock. */
export function matchesStatic(where: readonly PropertyPredicate[], properties: Readonly<Record<string, MemoryValue>>): boolean {
  for (const p of where) {
    if (!applyComparison(p.cmp, ownValue(properties, p.property), 0)) return false;
  }
  return true;
}

/** What a series keeps of an event: nothing, its one property value, or its values in the series' order. */
export function payloadOf(series: SeriesSpec, properties: Readonly<Record<string, MemoryValue>>): unknown {
  const props = series.props;
  if (props.length === 0) return undefined;
  if (props.length === 1) return ownValue(properties, props[0]!);
  return props.map((p) => ownValue(properties, p));
}
