/**
 * One error vocabulary for every edge. A PcxError carries a stable code that callers
 * can branch on, a message safe to show the caller (never a secret or a raw target
 * error), a retriable flag and readonly context. Each edge (gRPC, HTTP, Postgres wire,
 * CLI) turns it into its own status with one function.
 */
export const ErrorCodes = {
  PCX_AUTH_MISSING: { status: 'UNAUTHENTICATED', http: 401, retriable: false },
  PCX_AUTH_INVALID: { status: 'UNAUTHENTICATED', http: 401, retriable: false },
  PCX_AUTH_EXPIRED: { status: 'UNAUTHENTICATED', http: 401, retriable: false },
  PCX_FORBIDDEN: { status: 'PERMISSION_DENIED', http: 403, retriable: false },
  PCX_CONNECTION_UNKNOWN: { status: 'NOT_FOUND', http: 404, retriable: false },
  PCX_BLOCKED_BY_DECISION: { status: 'PERMISSION_DENIED', http: 403, retriable: false },
  PCX_GUARDRAIL_DENIED: { status: 'PERMISSION_DENIED', http: 403, retriable: false },
  PCX_SQL_UNPARSEABLE: { status: 'INVALID_ARGUMENT', http: 400, retriable: false },
  PCX_BAD_REQUEST: { status: 'INVALID_ARGUMENT', http: 400, retriable: false },
  PCX_PAYLOAD_TOO_LARGE: { status: 'RESOURCE_EXHAUSTED', http: 413, retriable: false },
  PCX_APPROVAL_REQUIRED: { status: 'FAILED_PRECONDITION', http: 409, retriable: true },
  PCX_TARGET_ERROR: { status: 'FAILED_PRECONDITION', http: 422, retriable: false },
  PCX_TARGET_UNAVAILABLE: { status: 'UNAVAILABLE', http: 503, retriable: true },
  PCX_AUDIT_UNAVAILABLE: { status: 'UNAVAILABLE', http: 503, retriable: true },
  PCX_STORE_UNAVAILABLE: { status: 'UNAVAILABLE', http: 503, retriable: true },
  PCX_CONFIG_INVALID: { status: 'INVALID_ARGUMENT', http: 400, retriable: false },
  PCX_NOT_FOUND: { status: 'NOT_FOUND', http: 404, retriable: false },
  PCX_INTERNAL: { status: 'INTERNAL', http: 500, retriable: false },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;
export type GrpcStatusName = (typeof ErrorCodes)[ErrorCode]['status'];

export class PcxError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Readonly<Record<string, string | number | boolean | undefined>>;

  constructor(
    code: ErrorCode,
    message: string,
    context: Record<string, string | number | boolean | undefined> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PcxError';
    this.code = code;
    this.retriable = ErrorCodes[code].retriable;
    this.context = Object.freeze({ ...context });
  }

  get grpcStatus(): GrpcStatusName {
    return ErrorCodes[this.code].status;
  }

  get httpStatus(): number {
    return ErrorCodes[this.code].http;
  }

  /** The caller-facing shape: code and reason, nothing else. */
  toJSON(): { code: ErrorCode; message: string; retriable: boolean } {
    return { code: this.code, message: this.message, retriable: this.retriable };
  }
}

export function isPcxError(e: unknown): e is PcxError {
  return e instanceof PcxError;
}

export function isErrorCode(s: string): s is ErrorCode {
  return Object.hasOwn(ErrorCodes, s);
}
