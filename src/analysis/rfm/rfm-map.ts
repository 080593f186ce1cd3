/**
 * The named RFM map: a name for every cell of the R x F score grid.
 *
 * The default for five levels is the widely circulated R x F grid of RFM segments (R score
 * rows, F score columns) of RFM tutorials and notebooks (many of them on this Online Retail
 * data), usually written as regular expressions over the "RF" score pair: `[1-2][1-2]`
 * hibernating, `[1-2][3-4]` at risk, `[1-2]5` can't lose them, `3[1-2]` about to sleep,
 * `33` need attention, `[3-4][4-5]` loyal, `41` promising, `51` new customers, `[4-5][2-3]`
 * potential loyalists, `5[4-5]` champions. One refinement follows the eleven-segment lists
 * (Putler's, for one), where Lost are the customers lowest in both recency and frequency:
 * the cell R 1, F 1 is Lost rather than Hibernating.
 *
 *            F=1             F=2                 F=3                 F=4        F=5
 *   R=5  New customers   Potential loyalists Potential loyalists Champions  Champions
 *   R=4  Promising       Potential loyalists Potential loyalists Loyal      Loyal
 *   R=3  About to sleep  About to sleep      Need attention      Loyal      Loyal
 *   R=2  Hibernating     Hibernating         At risk             At risk    Cannot lose them
 *   R=1  Lost            Hibernating         At risk             At risk    Cannot lose them
 *
 * For four levels each score stands for the five-level score at the middle of its quantile
 * band: score s covers quantiles [(s-1)/4, s/4], whose middle (2s-1)/8 lies in five-level
 * band ceil(5 (2s-1) / 8), so 1, 2, 3, 4 read as 1, 2, 4, 5 in the grid above. Four levels
 * have no middle band, so the middle row's names (About to sleep, Need attention) do not
 * occur.
 *
 * A custom map (`rfm.map`) lists rectangles `{name, r, f}` (r and f a score or [lo, hi])
 * that must cover every cell exactly once; a name may take several rectangles.
 */
import type { Objective } from '../../segments/language/index.js';
import { show } from '../../segments/language/messages.js';

/** A rectangle of the grid with its name: R scores r[0]..r[1], F scores f[0]..f[1]. */
export interface RfmMapEntry {
  readonly name: string;
  readonly r: readonly [number, number];
  readonly f: readonly [number, number];
}

const FIVE_LEVEL_MAP: readonly RfmMapEntry[] = [
  { name: 'Champions', r: [5, 5], f: [4, 5] },
  { name: 'Loyal', r: [3, 4], f: [4, 5] },
  { name: 'Potential loyalists', r: [4, 5], f: [2, 3] },
  { name: 'New customers', r: [5, 5], f: [1, 1] },
  { name: 'Promising', r: [4, 4], f: [1, 1] },
  { name: 'Need attention', r: [3, 3], f: [3, 3] },
  { name: 'About to sleep', r: [3, 3], f: [1, 2] },
  { name: 'At risk', r: [1, 2], f: [3, 4] },
  { name: 'Cannot lose them', r: [1, 2], f: [5, 5] },
  { name: 'Hibernating', r: [2, 2], f: [1, 2] },
  { name: 'Hibernating', r: [1, 1], f: [2, 2] },
  { name: 'Lost', r: [1, 1], f: [1, 1] },
];

/** What each default segment is for: the objective of its ready-made segment. */
const OBJECTIVES: Readonly<Record<string, Objective>> = {
  Champions: 'monetization',
  Loyal: 'retention',
  'Potential loyalists': 'engagement',
  'New customers': 'activation',
  Promising: 'engagement',
  'Need attention': 'retention',
  'About to sleep': 'retention',
  'At risk': 'retention',
  'Cannot lose them': 'retention',
  Hibernating: 'retention',
  Lost: 'retention',
};

/** The objective of a named cell's segment: the default names have one, custom names are `other`. */
export function mapObjective(name: string): Objective {
  return Object.hasOwn(OBJECTIVES, name) ? OBJECTIVES[name]! : 'other';
}

/** The grid of names: `grid[r-1][f-1]`. */
export type RfmNameGrid = readonly (readonly string[])[];

/** Five-level band in the middle of four-level band s: 1, 2, 4, 5. */
function fiveLevelScore(s: number): number {
  return Math.ceil((5 * (2 * s - 1)) / 8);
}

/** The default map for `levels` scores (see the header). */
export function defaultRfmMap(levels: 4 | 5): RfmMapEntry[] {
  if (levels === 5) return FIVE_LEVEL_MAP.map((e) => ({ ...e }));
  const five = nameGrid(FIVE_LEVEL_MAP, 5);
  const cells: RfmMapEntry[] = [];
  for (let r = 1; r <= 4; r++) {
    for (let f = 1; f <= 4; f++) cells.push({ name: five[fiveLevelScore(r) - 1]![fiveLevelScore(f) - 1]!, r: [r, r], f: [f, f] });
  }
  // Names in the five-level map's order.
  const order = mapNames(FIVE_LEVEL_MAP);
  return cells.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
}

/** Each cell's name (the map must cover the grid, as parseRfmMap checks). */
export function nameGrid(map: readonly RfmMapEntry[], levels: number): RfmNameGrid {
  const grid = Array.from({ length: levels }, () => Array.from({ length: levels }, () => ''));
  for (const e of map) {
    for (let r = e.r[0]; r <= e.r[1]; r++) for (let f = e.f[0]; f <= e.f[1]; f++) grid[r - 1]![f - 1] = e.name;
  }
  return grid;
}

/** The names of a map, each once, in the order they first appear. */
export function mapNames(map: readonly RfmMapEntry[]): string[] {
  return [...new Set(map.map((e) => e.name))];
}

/**
 * The cells of one name as few rectangles: runs of adjacent F scores per R score, and
 * adjacent R scores with the same runs merged. Each rectangle becomes one condition of the
 * ready-made segment.
 */
export function nameRectangles(grid: RfmNameGrid, name: string): RfmMapEntry[] {
  const levels = grid.length;
  const runsOf = (r: number): [number, number][] => {
    const runs: [number, number][] = [];
    for (let f = 1; f <= levels; f++) {
      if (grid[r - 1]![f - 1] !== name) continue;
      const last = runs[runs.length - 1];
      if (last && last[1] === f - 1) last[1] = f;
      else runs.push([f, f]);
    }
    return runs;
  };
  const out: { name: string; r: [number, number]; f: [number, number] }[] = [];
  let open: { name: string; r: [number, number]; f: [number, number] }[] = [];
  for (let r = 1; r <= levels; r++) {
    const next: typeof open = [];
    for (const run of runsOf(r)) {
      const same = open.find((o) => o.f[0] === run[0] && o.f[1] === run[1] && o.r[1] === r - 1);
      if (same) {
        same.r[1] = r;
        next.push(same);
      } else {
        const rect = { name, r: [r, r] as [number, number], f: run };
        out.push(rect);
        next.push(rect);
      }
    }
    open = next;
  }
  return out;
}

/** A key-safe form of a name: lower case letters and digits joined by single hyphens (`Cannot lose them` -> `cannot-lose-them`). */
export function nameSlug(name: string): string {
  return name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** `rfm.map`: rectangles covering the `levels` x `levels` grid exactly once. */
export function parseRfmMap(value: unknown, levels: number, at: string, err: (jsonPath: string, message: string) => void): RfmMapEntry[] | undefined {
  if (!Array.isArray(value) || value.length === 0) {
    err(at, `expected a list of cells such as {name: Champions, r: [4, 5], f: [4, 5]} covering every R and F score 1 to ${levels}, got ${show(value)}`);
    return undefined;
  }
  const entries: RfmMapEntry[] = [];
  let ok = true;
  const slugs = new Map<string, string>();
  value.forEach((raw, i) => {
    const here = `${at}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      err(here, `expected {name, r, f}, got ${show(raw)}`);
      ok = false;
      return;
    }
    const e = raw as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!['name', 'r', 'f'].includes(key)) {
        err(`${here}.${key}`, 'unknown key; expected name, r, f');
        ok = false;
      }
    }
    const name = typeof e.name === 'string' ? e.name.trim() : '';
    const slug = nameSlug(name);
    if (slug === '') {
      err(`${here}.name`, `expected a name with letters or digits (it also names the ready-made segment), got ${show(e.name)}`);
      ok = false;
    } else if (slugs.has(slug) && slugs.get(slug) !== name) {
      err(`${here}.name`, `${show(name)} and ${show(slugs.get(slug))} would name the same segment (${slug}); use one spelling`);
      ok = false;
    } else slugs.set(slug, name);
    const r = scoreRange(e.r, levels, `${here}.r`, err);
    const f = scoreRange(e.f, levels, `${here}.f`, err);
    if (r && f && slug !== '') entries.push({ name, r, f });
    else ok = false;
  });
  if (!ok) return undefined;

  const owner: (number | undefined)[][] = Array.from({ length: levels }, () => Array.from({ length: levels }, () => undefined));
  entries.forEach((e, i) => {
    for (let r = e.r[0]; r <= e.r[1]; r++) {
      for (let f = e.f[0]; f <= e.f[1]; f++) {
        const prior = owner[r - 1]![f - 1];
        if (prior !== undefined) {
          err(`${at}[${i}]`, `cell R ${r} F ${f} is already in ${at}[${prior}] (${entries[prior]!.name}); each cell takes one name`);
          ok = false;
        } else owner[r - 1]![f - 1] = i;
      }
    }
  });
  const missing: string[] = [];
  for (let r = levels; r >= 1; r--) for (let f = 1; f <= levels; f++) if (owner[r - 1]![f - 1] === undefined) missing.push(`R ${r} F ${f}`);
  if (missing.length > 0) {
    err(at, `every cell needs a name; none for ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ` and ${missing.length - 8} more` : ''} (scores 1 to ${levels})`);
    ok = false;
  }
  return ok ? entries : undefined;
}

function scoreRange(value: unknown, levels: number, at: string, err: (jsonPath: string, message: string) => void): [number, number] | undefined {
  const isScore = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 1 && x <= levels;
  if (isScore(value)) return [value, value];
  if (Array.isArray(value) && value.length === 2 && isScore(value[0]) && isScore(value[1]) && value[0] <= value[1]) return [value[0], value[1]];
  err(at, `expected a score 1 to ${levels} or a range [lo, hi] of them, got ${show(value)}`);
  return undefined;
}
