/**
 * Real data: the UCI Online Retail file from ../shared/data, ingested and segmented
 * through the CLI exactly as the README shows. Every size is checked twice: against
 * counts computed independently here from the raw CSV, and, where the data set's
 * documentation publishes one (../shared/data/README.md), against the published count.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ONLINE_RETAIL as DATA, RETAIL_EVENTS, onlineRetailPresent, retailWorkspace, type RetailWorkspace } from './support/online-retail.js';

const present = onlineRetailPresent('online-retail');

const AS_OF = '2011-12-10';
const AS_OF_MS = Date.UTC(2011, 11, 10);
const DAY = 86_400_000;

interface Line {
  invoice: string;
  stock: string;
  quantity: number;
  ts: number;
  price: number;
  customer: string;
  country: string;
  raw: string;
}

/** RFC 4180 fields of one line (the file has no multi-line fields: 541,910 physical lines). */
function splitCsv(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        v += line.slice(i, q);
        if (line[q + 1] === '"') {
          v += '"';
          i = q + 2;
        } else {
          i = q + 2;
          break;
        }
      }
      out.push(v);
    } else {
      const c = line.indexOf(',', i);
      const end = c === -1 ? line.length : c;
      out.push(line.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

function readLines(): Line[] {
  const text = gunzipSync(readFileSync(DATA)).toString('utf8');
  const rows = text.split('\n');
  const out: Line[] = [];
  for (let n = 1; n < rows.length; n++) {
    const raw = rows[n]!.replace(/\r$/, '');
    if (raw === '') continue;
    const f = splitCsv(raw);
    const [d, t] = f[4]!.split(' ');
    const [y, mo, da] = d!.split('-').map(Number);
    const [h, mi, s] = t!.split(':').map(Number);
    out.push({
      invoice: f[0]!,
      stock: f[1]!,
      quantity: Number(f[3]),
      ts: Date.UTC(y!, mo! - 1, da!, h!, mi!, s!),
      price: Number(f[5]),
      customer: f[6]!,
      country: f[7]!,
      raw,
    });
  }
  return out;
}

const SEGMENTS: Record<string, string> = {
  'uk-customers': 'key: uk-customers\nname: Customers in the United Kingdom\nobjective: other\nrationale: The home market.\nowner: growth\nmatch: { trait: Country, eq: United Kingdom }\n',
  'loyal-buyers': 'key: loyal-buyers\nname: Bought on ten or more days\nobjective: retention\nrationale: Repeat buyers.\nowner: growth\nmatch: { activeDays: { gte: 10 }, on: purchase }\n',
  'lapsed-buyers': 'key: lapsed-buyers\nname: No purchase for three months\nobjective: retention\nrationale: Win-back audience.\nowner: growth\nmatch: { lastSeen: { gte: 90d }, on: purchase }\n',
  'broad-baskets': 'key: broad-baskets\nname: Bought 100 or more different products\nobjective: monetization\nrationale: Wholesale customers.\nowner: growth\nmatch: { aggregate: distinct, of: StockCode, on: purchase, gte: 100 }\n',
  returners:
    'key: returners\nname: Cancelled an order line in the last six months\nobjective: retention\nrationale: Cancellations precede churn.\nowner: growth\nmatch:\n  did: purchase\n  where: [{ property: InvoiceNo, startsWith: C }]\n  within: 180d\n',
  'uk-valid-buyers':
    'key: uk-valid-buyers\nname: Bought in the UK with a positive quantity and price\nobjective: other\nrationale: The published 3,920 customers.\nowner: growth\nmatch:\n  did: purchase\n  where:\n    - { property: Quantity, gt: 0 }\n    - { property: UnitPrice, gt: 0 }\n    - { property: Country, eq: United Kingdom }\n',
};

describe.skipIf(!present)('Online Retail through the CLI', () => {
  let retail: RetailWorkspace | undefined;
  let lines: Line[] = [];
  const sizes = new Map<string, number>();
  let ingest: { read: number; stored: number; rejected: number; duplicates: number; rejectReasons: Record<string, number> };

  beforeAll(async () => {
    lines = readLines();
    retail = await retailWorkspace('strata-retail-');
    const { ws, run } = retail;
    await run('plan', 'infer', DATA, ...RETAIL_EVENTS, '--write');
    await run('plan', 'infer', '--profiles', DATA, '--user', 'CustomerID', '--traits', 'Country', '--write');
    ingest = await retail.json('ingest', 'events', DATA, ...RETAIL_EVENTS);
    await run('ingest', 'profiles', DATA, '--user', 'CustomerID');
    for (const [key, text] of Object.entries(SEGMENTS)) await writeFile(path.join(ws, 'segments', `${key}.yaml`), text);
    await run('segment', 'add', path.join(ws, 'segments'));
    const computed = await retail.json<{ key: string; size: number; population: number }[] | { results: { key: string; size: number; population: number }[] }>(
      'segment', 'compute', '--as-of', AS_OF,
    );
    const results = Array.isArray(computed) ? computed : computed.results;
    for (const r of results) sizes.set(r.key, r.size);
    sizes.set('$population', results[0]!.population);
  }, 600_000);

  afterAll(async () => retail?.remove());

  it('reads every line and rejects exactly the rows without a customer (published: 541,909 rows, 135,080 without CustomerID)', () => {
    const noCustomer = lines.filter((l) => l.customer === '').length;
    expect(lines.length).toBe(541_909);
    expect(noCustomer).toBe(135_080);
    expect(ingest.read).toBe(541_909);
    expect(ingest.rejected).toBe(135_080);
    expect(Object.values(ingest.rejectReasons).reduce((a, b) => a + b, 0)).toBe(135_080);
  });

  it('stores each distinct line item once (no line-item id: the content hash dedupes exact repeats)', () => {
    const withCustomer = lines.filter((l) => l.customer !== '');
    const distinct = new Set(withCustomer.map((l) => l.raw)).size;
    expect(ingest.stored).toBe(distinct);
    expect(ingest.duplicates).toBe(withCustomer.length - distinct);
  });

  it('has the 4,372 customers as its population (published)', () => {
    expect(new Set(lines.filter((l) => l.customer !== '').map((l) => l.customer)).size).toBe(4_372);
    expect(sizes.get('$population')).toBe(4_372);
  });

  it('finds the 3,920 UK customers with a positive quantity and price (published)', () => {
    const independent = new Set(lines.filter((l) => l.customer && l.quantity > 0 && l.price > 0 && l.country === 'United Kingdom').map((l) => l.customer));
    expect(independent.size).toBe(3_920);
    expect(sizes.get('uk-valid-buyers')).toBe(3_920);
  });

  it('agrees with independent counts for the README segments', () => {
    const byCustomer = new Map<string, Line[]>();
    for (const l of lines) {
      if (!l.customer || l.ts >= AS_OF_MS) continue;
      const list = byCustomer.get(l.customer) ?? [];
      list.push(l);
      byCustomer.set(l.customer, list);
    }
    // A later profile row replaces the earlier trait value: the country on the customer's last line.
    const lastCountry = new Map<string, string>();
    for (const l of lines) if (l.customer) lastCountry.set(l.customer, l.country);
    const count = (pred: (ls: Line[], c: string) => boolean) => [...byCustomer].filter(([c, ls]) => pred(ls, c)).length;

    expect(sizes.get('uk-customers')).toBe([...lastCountry.values()].filter((c) => c === 'United Kingdom').length);
    expect(sizes.get('loyal-buyers')).toBe(count((ls) => new Set(ls.map((l) => Math.floor(l.ts / DAY))).size >= 10));
    expect(sizes.get('lapsed-buyers')).toBe(count((ls) => AS_OF_MS - Math.max(...ls.map((l) => l.ts)) >= 90 * DAY));
    expect(sizes.get('broad-baskets')).toBe(count((ls) => new Set(ls.map((l) => l.stock)).size >= 100));
    expect(sizes.get('returners')).toBe(count((ls) => ls.some((l) => l.invoice.startsWith('C') && l.ts >= AS_OF_MS - 180 * DAY)));
  });
});
