/**
 * Customer lifetime value: BG/NBD and Pareto/NBD transaction models and the Gamma-Gamma
 * spend model, fitted by maximum likelihood on per-customer summaries (x, tx, T,
 * monetary) computed in SQL from purchase events; P(alive), expected purchases, expected
 * spend and discounted CLV per customer. Formulas and sources are in each file's header:
 * bgnbd.ts, pareto-nbd.ts, gamma-gamma.ts, clv.ts (CLV), clv-sql.ts (the summary).
 */
export * from './summary.js';
export * from './bgnbd.js';
export * from './pareto-nbd.js';
export * from './gamma-gamma.js';
export * from './fit.js';
export * from './clv.js';
export * from './clv-sql.js';
export * from './customer-summaries.js';
export { minimize, type MinimizeOptions, type MinimizeResult } from './optimize.js';
export * from './clv-fits.js';
