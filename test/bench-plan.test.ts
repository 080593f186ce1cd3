/**
 * The benchmarks generate the demo product in SQL and refuse to run when the demo plan
 * and the generator drift apart. That refusal only shows when someone runs `npm run
 * bench`, so it happened silently twice (`$exposure`, then `$consent`); this test makes the
 * drift fail the suite instead.
 */
import { describe, expect, it } from 'vitest';
import { checkPlanFits } from '../bench/support/product-data.js';
import { demoPlan } from '../src/demo/demo-plan.js';

describe('bench product generator', () => {
  it('fits the demo plan (every planned event, property and trait is generated or knowingly absent)', () => {
    expect(() => checkPlanFits(demoPlan())).not.toThrow();
  });
});
