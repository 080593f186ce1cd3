/**
 * # src/models/discover (drivers): early behaviours that predict an outcome
 *
 * `discoverDrivers(store, plan, options)` (drivers.ts: cohort, candidates, BH, revenue),
 * the per-user SQL for every engine (drivers-sql.ts) and the 2x2 statistics (drivers-stats.ts:
 * Katz lift interval, Newcombe difference, phi with a Fisher z interval, chi-square or
 * Fisher's exact p-value). Definitions and formulas with sources: docs/models.md, "Drivers".
 */
export {
  ASSOCIATION_NOTE,
  DEFAULT_EARLY_MS,
  DEFAULT_FDR,
  DEFAULT_MIN_USERS,
  DEFAULT_THRESHOLDS,
  DEFAULT_WITHIN_MS,
  discoverDrivers,
  driverCounts,
  EVENTS_PER_QUERY,
  type DriverCandidate,
  type DriverOutcome,
  type DriverSide,
  type DriversOptions,
  type DriversResult,
  type RevenueCandidate,
  type RevenueSection,
  type RevenueSide,
  type SkippedCandidate,
} from './drivers.js';
export { driversSql, type DriversScope } from './drivers-sql.js';
export {
  chiSquarePValue,
  fisherExactPValue,
  fisherZInterval,
  newcombeDifference,
  pearsonChiSquare,
  phiCoefficient,
  riskRatioKatz,
  tableStatistics,
  wilsonInterval,
  type Interval,
  type TableStatistics,
  type TableTest,
  type TwoByTwo,
} from './drivers-stats.js';
