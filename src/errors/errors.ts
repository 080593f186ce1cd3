/**
 * One error type for the whole project, with stable codes kept in one append-only
 * catalogue. Shells map a code to an exit code (CLI) or an HTTP status (server) in
 * exactly one place each; domain code only throws.
 */
export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { exit: 2, http: 400, summary: 'strata.yaml is invalid' },
  WORKSPACE_NOT_FOUND: { exit: 2, http: 404, summary: 'no workspace (strata.yaml) found' },
  WORKSPACE_EXISTS: { exit: 2, http: 409, summary: 'a workspace already exists there' },
  PLAN_INVALID: { exit: 2, http: 400, summary: 'the tracking plan is invalid' },
  INPUT_INVALID: { exit: 2, http: 400, summary: 'the input is invalid' },
  FILE_NOT_FOUND: { exit: 2, http: 404, summary: 'a file does not exist' },
  FORMAT_UNSUPPORTED: { exit: 2, http: 400, summary: 'the file format is not supported' },
  MAPPING_INVALID: { exit: 2, http: 400, summary: 'the column mapping does not fit the file' },
  INGEST_REJECTED: { exit: 3, http: 422, summary: 'rows were rejected and the run was configured to fail on rejects' },
  SEGMENT_INVALID: { exit: 2, http: 400, summary: 'the segment definition is invalid' },
  SEGMENT_NOT_FOUND: { exit: 2, http: 404, summary: 'no segment with that key' },
  SEGMENT_CYCLE: { exit: 2, http: 400, summary: 'segments reference each other in a cycle' },
  SNAPSHOT_NOT_FOUND: { exit: 2, http: 404, summary: 'no snapshot for that segment and instant' },
  TIME_INVALID: { exit: 2, http: 400, summary: 'an instant or duration could not be parsed' },
  STORE_ERROR: { exit: 4, http: 500, summary: 'the store failed' },
  MIGRATION_ERROR: { exit: 4, http: 500, summary: 'the store schema could not be migrated' },
  INTERNAL: { exit: 70, http: 500, summary: 'an internal error' },
  STATE_INCOMPATIBLE: { exit: 2, http: 409, summary: 'a saved stream state does not fit this version, these segments or these options' },
  USER_NOT_FOUND: { exit: 2, http: 404, summary: 'no user with that id' },
  MOMENT_NOT_FOUND: { exit: 2, http: 404, summary: 'no key moment with that key' },
  LINT_WARNINGS: { exit: 1, http: 422, summary: 'segment lint found warnings and --strict was given' },
  EXPERIMENT_INVALID: { exit: 2, http: 400, summary: 'the experiment definition is invalid' },
  EXPERIMENT_NOT_FOUND: { exit: 2, http: 404, summary: 'no experiment with that key' },
  MODEL_INVALID: { exit: 2, http: 400, summary: 'the model definition is invalid' },
  MODEL_NOT_FOUND: { exit: 2, http: 404, summary: 'no model (or model version) with that key' },
  PRIVACY_BUDGET_EXCEEDED: { exit: 2, http: 403, summary: 'the release would spend more privacy budget than the workspace has left' },
  PRIVACY_KEY_INVALID: { exit: 2, http: 400, summary: 'the pseudonymization key is missing, too short, or stored in the data folder' },
  CONSENT_MISSING: { exit: 2, http: 403, summary: 'the user has not granted consent for that purpose' },
  AUDIT_LOG_BROKEN: { exit: 4, http: 500, summary: "the audit log's hash chain is broken: records were changed or removed" },
  FAIRNESS_FLAGGED: { exit: 1, http: 422, summary: 'a fairness audit flagged a segment or model and --strict was given' },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export interface ErrorDetail {
  /** Where the problem is: a JSON path (`match.all[2].sequence[1].event`), `file:line`, or a column. */
  readonly path?: string;
  readonly message: string;
}

export class StrataError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly ErrorDetail[];

  constructor(code: ErrorCode, message: string, details: readonly ErrorDetail[] = [], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StrataError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ERROR_CATALOGUE[this.code].exit;
  }

  get statusCode(): number {
    return ERROR_CATALOGUE[this.code].http;
  }

  /** One line for a terminal: the message, then the first detail with its path. */
  toLine(): string {
    const first = this.details[0];
    if (!first) return this.message;
    const more = this.details.length > 1 ? ` (and ${this.details.length - 1} more)` : '';
    return `${this.message}: ${first.path ? `${first.path}: ` : ''}${first.message}${more}`;
  }

  toJSON(): { code: ErrorCode; message: string; details: readonly ErrorDetail[] } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isStrataError(e: unknown): e is StrataError {
  return e instanceof StrataError;
}
