/**
 * The CDNOW sample (../shared/data/cdnow, Bruce Hardie's data as shipped by `lifetimes`)
 * for the CLV tests: presence reported loudly (an error under CI), the raw lines, and the
 * CSV a user would write from it for `strata ingest events` (ISO dates instead of
 * YYYYMMDD, a header).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export const CDNOW_DIR = path.resolve(import.meta.dirname, '../../../shared/data/cdnow');
export const CDNOW_SAMPLE = path.join(CDNOW_DIR, 'CDNOW_sample.txt');
export const CDNOW_SUMMARY = path.join(CDNOW_DIR, 'cdnow_customers_summary_with_transactions.csv');

export function cdnowPresent(test: string): boolean {
  if (existsSync(CDNOW_SAMPLE) && existsSync(CDNOW_SUMMARY)) return true;
  const message = `${test} test: ${CDNOW_SAMPLE} or ${CDNOW_SUMMARY} is missing; the real-data test needs ../shared/data (see ../shared/data/README.md)`;
  if (process.env.CI) throw new Error(message);
  console.warn(`\n*** SKIPPED: ${message} ***\n`);
  return false;
}

export interface CdnowLine {
  readonly customer: string;
  readonly sampleId: number;
  /** YYYYMMDD */
  readonly date: string;
  readonly cds: number;
  readonly dollars: number;
}

export function readCdnowSample(): CdnowLine[] {
  return readFileSync(CDNOW_SAMPLE, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [customer, id, date, cds, dollars] = l.trim().split(/\s+/);
      return { customer: customer!, sampleId: Number(id), date: date!, cds: Number(cds), dollars: Number(dollars) };
    });
}

/** The sample as CSV: customer, sample_id, date (ISO), cds, dollars. */
export function cdnowCsv(lines: readonly CdnowLine[]): string {
  const iso = (d: string) => `${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`;
  return `customer,sample_id,date,cds,dollars\n${lines.map((l) => `c${l.customer},${l.sampleId},${iso(l.date)},${l.cds},${l.dollars}`).join('\n')}\n`;
}
