/**
 * Writing the synthetic product to disk as the files a real team would export: events as
 * JSONL (one `{user_id, event, timestamp, properties, event_id}` per line) and profiles as
 * JSONL (`{user_id, traits}`), streamed in chunks so memory stays flat.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { DemoConsent } from './demo-consent.js';
import { simulateUser, type DemoPropertyValue, type DemoTraitValue, type ProductOptions } from './synthetic-product.js';

export interface GeneratedFiles {
  readonly eventsFile: string;
  readonly profilesFile: string;
  readonly users: number;
  readonly events: number;
  /** Events per name, for the summary and for tests. */
  readonly eventCounts: Readonly<Record<string, number>>;
  /** Users per plan at the end of the data. */
  readonly planCounts: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

const CHUNK_BYTES = 4 << 20;
const DAY_MS = 86_400_000;

// Date#toISOString dominated generation time; the date part changes once a day per user,
// so it is cached and the time of day is assembled by arithmetic.
let cachedDay = NaN;
let cachedDate = '';
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/** `new Date(ts).toISOString()`, faster. */
export function isoTime(ts: number): string {
  const day = Math.floor(ts / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedDate = new Date(day * DAY_MS).toISOString().slice(0, 11);
  }
  let rest = ts - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const sec = Math.floor(rest / 1000);
  return `${cachedDate}${pad2(h)}:${pad2(m)}:${pad2(sec)}.${pad3(rest - sec * 1000)}Z`;
}

const PLAIN = /^[A-Za-z0-9 _.:/-]*$/;

/** JSON of a flat object of strings and finite numbers; plain strings skip JSON.stringify. */
function jsonObject(obj: Readonly<Record<string, string | number>>): string {
  let out = '{';
  for (const key in obj) {
    const v = obj[key]!;
    if (out.length > 1) out += ',';
    out += `${PLAIN.test(key) ? `"${key}"` : JSON.stringify(key)}:${typeof v === 'number' ? String(v) : PLAIN.test(v) ? `"${v}"` : JSON.stringify(v)}`;
  }
  return `${out}}`;
}

/**
 * Lines go straight into a byte buffer that is handed to the stream when full: building
 * one big string per chunk made the garbage collector the main cost of generation.
 */
class ChunkedWriter {
  private buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  private offset = 0;
  private readonly stream: WriteStream;
  private failure: Error | null = null;

  constructor(file: string) {
    this.stream = createWriteStream(file);
    this.stream.on('error', (e) => {
      this.failure = e;
    });
  }

  push(line: string): void {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (this.offset + line.length * 3 > this.buffer.length) this.spill();
    this.offset += this.buffer.write(line, this.offset, 'utf8');
  }

  get full(): boolean {
    return this.pending.length > 0;
  }

  private pending: Buffer[] = [];

  /** Move the filled part aside; the stream gets it at the next flush (which may wait for drain). */
  private spill(): void {
    if (this.offset === 0) return;
    this.pending.push(this.buffer.subarray(0, this.offset));
    this.buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    this.offset = 0;
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    const chunks = this.pending;
    this.pending = [];
    for (const chunk of chunks) {
      if (!this.stream.write(chunk)) await once(this.stream, 'drain');
    }
  }

  async close(): Promise<void> {
    this.spill();
    await this.flush();
    await new Promise<void>((resolve, reject) => this.stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
    if (this.failure) throw this.failure;
  }
}

export async function writeDemoFiles(
  options: ProductOptions & { users: number; eventsFile: string; profilesFile: string; onProgress?: (done: number, total: number) => void },
): Promise<GeneratedFiles> {
  const started = performance.now();
  const events = new ChunkedWriter(options.eventsFile);
  const profiles = new ChunkedWriter(options.profilesFile);
  const eventCounts: Record<string, number> = {};
  const planCounts: Record<string, number> = {};
  let total = 0;
  let seq = 0;
  const sink = {
    event(userId: string, event: string, ts: number, properties: Readonly<Record<string, DemoPropertyValue>> | null) {
      eventCounts[event] = (eventCounts[event] ?? 0) + 1;
      total++;
      seq++;
      events.push(
        `{"event_id":"${userId}-${seq}","user_id":"${userId}","event":"${event}","timestamp":"${isoTime(ts)}"${
          properties ? `,"properties":${jsonObject(properties)}` : ''
        }}\n`,
      );
    },
    consent(userId: string, ts: number, consent: DemoConsent) {
      eventCounts.$consent = (eventCounts.$consent ?? 0) + 1;
      total++;
      seq++;
      events.push(
        `{"event_id":"${userId}-${seq}","user_id":"${userId}","event":"$consent","timestamp":"${isoTime(ts)}","properties":{"purpose":"${consent.purpose}","granted":${consent.granted},"source":"${consent.source}"}}\n`,
      );
    },
    profile(userId: string, traits: Readonly<Record<string, DemoTraitValue>>) {
      const plan = String(traits.plan);
      planCounts[plan] = (planCounts[plan] ?? 0) + 1;
      const out: Record<string, DemoTraitValue> = {};
      for (const [k, v] of Object.entries(traits)) out[k] = k === 'signup_at' ? new Date(v as number).toISOString() : v;
      profiles.push(`${JSON.stringify({ user_id: userId, traits: out })}\n`);
    },
  };
  const every = Math.max(1, Math.floor(options.users / 100));
  for (let i = 0; i < options.users; i++) {
    seq = 0;
    simulateUser(i, options, sink);
    if (events.full) await events.flush();
    if (profiles.full) await profiles.flush();
    if ((i + 1) % every === 0 || i + 1 === options.users) options.onProgress?.(i + 1, options.users);
  }
  await events.close();
  await profiles.close();
  return {
    eventsFile: options.eventsFile,
    profilesFile: options.profilesFile,
    users: options.users,
    events: total,
    eventCounts,
    planCounts,
    elapsedMs: Math.round(performance.now() - started),
  };
}
