/**
 * RFM: recency, frequency and monetary value per purchaser as of an instant, quantile
 * scores (numpy's methods), the named R x F map, and ready-made segments from it.
 *
 *   parseRfmSection(value, plan, err)        the `rfm:` section of strata.yaml
 *   computeRfm(store, config.rfm, options)   summary, cut points, score counts, map, grid
 *   rfmUserRows(store, config.rfm, options, result)   per-user rows with the same scores
 *   rfmSegmentDefinitions(config.rfm, options, result, plan, prefix)   frozen map segments
 */
export {
  DEFAULT_RFM_CONFIG,
  SCORE_LEVELS,
  parseRfmSection,
  type PurchaseSettings,
  type RfmConfig,
  type ScoreLevels,
} from './rfm-config.js';
export {
  computeRfm,
  resolveRfmSettings,
  resultCuts,
  rfmUserRows,
  type RfmMeasureSummary,
  type RfmOptions,
  type RfmResult,
  type RfmSegmentSummary,
  type RfmSettings,
  type RfmUserRow,
} from './compute-rfm.js';
export { QUANTILE_METHODS, bandOf, cutPoints, describeTable, frequencyTable, quantile, quantiles, type FrequencyTable, type QuantileMethod } from './quantiles.js';
export { defaultRfmMap, mapNames, mapObjective, nameGrid, nameRectangles, nameSlug, parseRfmMap, type RfmMapEntry, type RfmNameGrid } from './rfm-map.js';
export { DEFAULT_RFM_PREFIX, predicateDocument, rfmSegmentDefinitions, type GeneratedRfmSegment, type RfmSegmentsResult } from './rfm-segments.js';
export { measuresSql, purchaseAmountSql, purchaseConditions, type RfmCuts, type RfmMeasure, type RfmScope } from './rfm-sql.js';
export { RFM_USER_FORMATS, writeRfmUsers, type RfmUserFormat } from './rfm-users-file.js';
