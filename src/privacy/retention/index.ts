/** Retention (issue 7): `enforceRetention` (privacy enforce). */
export { enforceRetention, type EnforceOptions, type EnforceResult, type EventRetention } from './enforce.js';
