export { DEFAULT_MAPPING, resolveMapping, type ColumnMapping } from './column-mapping.js';
export { EPOCH_MILLIS_BELOW, EPOCH_SECONDS_BELOW, parseEventTimeMs } from './event-time.js';
export { ingestFiles, type IngestFilesOptions } from './ingest-files.js';
export {
  RECORDS_LABEL,
  ingestEventRecords,
  ingestProfileRecords,
  type EventRecord,
  type IngestRecordsOptions,
  type ProfileRecord,
} from './ingest-records.js';
export { formatIngestSummary, type IngestProgress, type IngestReport } from './ingest-report.js';
export { ingestPrivacy, privacyTotal } from './ingest-privacy.js';
export {
  DEFAULT_INFER_MAX_ROWS,
  inferPlan,
  mergePlan,
  mergePlanWithReport,
  type InferPlanOptions,
  type PlanConflict,
  type PlanMerge,
} from './infer-plan.js';
export { SOURCE_FORMATS } from './source-files.js';
