/**
 * Erasure and export (issue 7): `forgetUsers` (privacy forget), `exportUser` (privacy
 * export), the ids they act on (`erasureIds`, pseudonymized workspaces), the live
 * catalogue they walk (`liveTables`, `liveUserKeyedTables`, `erasureTables`) and the
 * rejects-file scrub (`scrubRejects`).
 */
export { erasureTables, fieldTypeOf, liveTables, liveUserKeyedTables, type LiveColumn } from './catalogue.js';
export { forgetUsers, type ErasureId, type ForgetOptions, type ForgetResult, type ForgetStatus, type ForgetUserResult } from './forget.js';
export { exportUser, USER_EXPORT_SCHEMA_VERSION, type ExportOptions, type ExportValue, type ExportedEvent, type UserExport } from './export.js';
export { rejectsLineOwner, scrubRejects, type RejectsScrub, type RejectsTarget } from './rejects.js';
export { erasureIds } from './user-ids.js';
