import { isPcxError, type ErrorCode } from '@portcullis/common';

/** Exit statuses: sysexits' EX_USAGE for bad invocations; 2 sets a policy denial apart from a failure. */
export const ExitCode = { ok: 0, failure: 1, denied: 2, usage: 64 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Codes that mean "the gateway decided no", as opposed to "something went wrong". */
const DENIALS: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'PCX_AUTH_MISSING',
  'PCX_AUTH_INVALID',
  'PCX_AUTH_EXPIRED',
  'PCX_FORBIDDEN',
  'PCX_BLOCKED_BY_DECISION',
  'PCX_GUARDRAIL_DENIED',
  'PCX_APPROVAL_REQUIRED',
]);

export function exitCodeFor(e: unknown): ExitCode {
  return isPcxError(e) && DENIALS.has(e.code) ? ExitCode.denied : ExitCode.failure;
}

/** The one line a failed command prints on stderr: `<PCX_CODE>: <reason>`. */
export function errorLine(e: unknown): string {
  if (isPcxError(e)) return `${e.code}: ${e.message}`;
  return `PCX_INTERNAL: ${e instanceof Error ? e.message : String(e)}`;
}
