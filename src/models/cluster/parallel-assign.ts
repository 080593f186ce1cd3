/**
 * The unbounded assignment step (`bounds: false`) on several cores. Worker threads share the rows, centres, labels and
 * per-worker partial sums through SharedArrayBuffers; the calling thread takes the first slice of
 * rows itself and waits for the workers with Atomics.wait, so k-means stays a synchronous
 * function. Partial sums are added in slice order, so a given thread count always gives the same
 * model (different thread counts may differ in the last bits of the centroids, as sklearn's
 * chunked sums do).
 *
 * The workers run the source text of `assignRange` and `nearest` (assign-kernel.ts), so the one
 * kernel is written once and runs the same under tsx, vitest and the compiled dist/.
 */
import { Worker } from 'node:worker_threads';
import { assignRange, nearest, prepareCenters } from './assign-kernel.js';
import { BoundedAssigner } from './bounded-assign.js';

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { data, cols, ct, norms, k, start, end, labels, sums, counts, ctrl } = workerData;
${nearest.toString()}
${assignRange.toString()}
let generation = 0;
for (;;) {
  Atomics.wait(ctrl, 0, generation);
  generation = Atomics.load(ctrl, 0);
  if (generation < 0) break;
  assignRange(data, cols, ct, norms, k, start, end, labels, Atomics.load(ctrl, 2) === 1 ? sums : null, counts);
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
}
`;

function shared(length: number, bytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Math.max(1, length) * bytes);
}

export interface AssignResult {
  readonly sums: Float64Array;
  readonly counts: Float64Array;
}

export interface Assigner {
  /** The label of every row after the last `assign`. */
  readonly labels: Int32Array;
  /** Labels every row against `centers` (k x cols, row-major); with `withSums`, the per-cluster sums of rows (else zeros) and counts. */
  assign(centers: Float64Array, withSums: boolean): AssignResult;
  close(): void;
}

/** One thread: the kernel over all rows, no shared memory. */
class SingleThreadAssigner implements Assigner {
  readonly labels: Int32Array;
  private readonly ct: Float64Array;
  private readonly norms: Float64Array;
  private readonly result: AssignResult;

  constructor(
    private readonly data: Float64Array,
    private readonly rows: number,
    private readonly cols: number,
    private readonly k: number,
  ) {
    this.labels = new Int32Array(rows);
    this.ct = new Float64Array(k * cols);
    this.norms = new Float64Array(k);
    this.result = { sums: new Float64Array(k * cols), counts: new Float64Array(k) };
  }

  assign(centers: Float64Array, withSums: boolean): AssignResult {
    prepareCenters(centers, this.k, this.cols, this.ct, this.norms);
    if (!withSums) this.result.sums.fill(0);
    assignRange(this.data, this.cols, this.ct, this.norms, this.k, 0, this.rows, this.labels, withSums ? this.result.sums : null, this.result.counts);
    return this.result;
  }

  close(): void {}
}

/** `bounds`: Hamerly's bounded assignment on one thread; else every distance, on `threads` threads. */
export function createAssigner(data: Float64Array, rows: number, cols: number, k: number, threads: number, bounds: boolean): Assigner {
  if (bounds) return new BoundedAssigner(data, rows, cols, k);
  return threads > 1 && rows > 1 ? new AssignPool(data, rows, cols, k, threads) : new SingleThreadAssigner(data, rows, cols, k);
}

/** Assigns the rows of `data` on `threads` threads (the caller's plus threads - 1 workers). Call `close` when done. */
export class AssignPool implements Assigner {
  readonly labels: Int32Array;
  private readonly data: Float64Array;
  private readonly ct: Float64Array;
  private readonly norms: Float64Array;
  /** [generation (-1: stop), workers done, with sums (1/0)] */
  private readonly ctrl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly slices: { start: number; end: number; sums: Float64Array; counts: Float64Array }[] = [];
  private readonly total: AssignResult;
  private generation = 0;

  constructor(
    source: Float64Array,
    rows: number,
    private readonly cols: number,
    private readonly k: number,
    threads: number,
  ) {
    // Workers need the rows in shared memory: one copy per fit unless they already are.
    if (source.buffer instanceof SharedArrayBuffer) this.data = source;
    else {
      this.data = new Float64Array(shared(source.length, 8), 0, source.length);
      this.data.set(source);
    }
    this.labels = new Int32Array(shared(rows, 4), 0, rows);
    this.ct = new Float64Array(shared(k * cols, 8), 0, k * cols);
    this.norms = new Float64Array(shared(k, 8), 0, k);
    this.ctrl = new Int32Array(shared(3, 4));
    this.total = { sums: new Float64Array(k * cols), counts: new Float64Array(k) };
    const n = Math.max(1, Math.min(threads, rows));
    for (let t = 0; t < n; t++) {
      const start = Math.floor((rows * t) / n);
      const end = Math.floor((rows * (t + 1)) / n);
      const sums = new Float64Array(shared(k * cols, 8), 0, k * cols);
      const counts = new Float64Array(shared(k, 8), 0, k);
      this.slices.push({ start, end, sums, counts });
      if (t === 0) continue;
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { data: this.data, cols, ct: this.ct, norms: this.norms, k, start, end, labels: this.labels, sums, counts, ctrl: this.ctrl },
      });
      worker.unref();
      this.workers.push(worker);
    }
  }

  assign(centers: Float64Array, withSums: boolean): AssignResult {
    const { k, cols } = this;
    prepareCenters(centers, k, cols, this.ct, this.norms);
    Atomics.store(this.ctrl, 1, 0);
    Atomics.store(this.ctrl, 2, withSums ? 1 : 0);
    this.generation++;
    Atomics.store(this.ctrl, 0, this.generation);
    Atomics.notify(this.ctrl, 0);
    const own = this.slices[0]!;
    assignRange(this.data, cols, this.ct, this.norms, k, own.start, own.end, this.labels, withSums ? own.sums : null, own.counts);
    for (let done = Atomics.load(this.ctrl, 1); done < this.workers.length; done = Atomics.load(this.ctrl, 1)) {
      Atomics.wait(this.ctrl, 1, done);
    }
    const { sums, counts } = this.total;
    sums.fill(0);
    counts.fill(0);
    for (const slice of this.slices) {
      if (withSums) for (let j = 0; j < sums.length; j++) sums[j]! += slice.sums[j]!;
      for (let c = 0; c < k; c++) counts[c]! += slice.counts[c]!;
    }
    return this.total;
  }

  close(): void {
    Atomics.store(this.ctrl, 0, -1);
    Atomics.notify(this.ctrl, 0);
    for (const w of this.workers) void w.terminate();
  }
}
