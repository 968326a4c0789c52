import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { PcxError, isErrorCode, isPcxError, type ErrorCode } from '@portcullis/common';

export const PCX_CODE_TRAILER = 'pcx-code';
/** The request id of a denied or failed command, so the caller can quote it to whoever reads the audit log. */
export const PCX_REQUEST_ID_TRAILER = 'pcx-request-id';
/** The approval a held command waits for (PCX_APPROVAL_REQUIRED), so a client can wait on it or re-submit with it. */
export const PCX_APPROVAL_ID_TRAILER = 'pcx-approval-id';

/**
 * The one place a gateway error becomes a gRPC status: the code from the error's
 * `grpcStatus` name, details `<CODE>: <message>`, and the code again in the `pcx-code`
 * trailer for clients that branch on it. Anything that is not a PcxError is a bug and
 * reaches the caller as PCX_INTERNAL without its message, which may carry anything.
 */
export function toGrpcStatus(e: unknown): StatusObject {
  const err = isPcxError(e) ? e : new PcxError('PCX_INTERNAL', 'internal error');
  const metadata = new Metadata();
  metadata.set(PCX_CODE_TRAILER, err.code);
  const requestId = err.context['requestId'];
  if (typeof requestId === 'string') metadata.set(PCX_REQUEST_ID_TRAILER, requestId);
  const approvalId = err.context['approvalId'];
  if (typeof approvalId === 'string') metadata.set(PCX_APPROVAL_ID_TRAILER, approvalId);
  return { code: status[err.grpcStatus], details: `${err.code}: ${err.message}`, metadata };
}

/** The client side: a gRPC error back into the PcxError the gateway raised. */
export function fromGrpcError(e: ServiceError): PcxError {
  const trailer = e.metadata?.get(PCX_CODE_TRAILER)[0];
  const code = typeof trailer === 'string' && isErrorCode(trailer) ? trailer : undefined;
  if (!code) return new PcxError(pcxCodeForStatus(e.code), e.details || e.message, { grpcStatus: e.code });
  const requestId = e.metadata.get(PCX_REQUEST_ID_TRAILER)[0];
  const approvalId = e.metadata.get(PCX_APPROVAL_ID_TRAILER)[0];
  const prefix = `${code}: `;
  return new PcxError(code, e.details.startsWith(prefix) ? e.details.slice(prefix.length) : e.details, {
    grpcStatus: e.code,
    requestId: typeof requestId === 'string' ? requestId : undefined,
    approvalId: typeof approvalId === 'string' ? approvalId : undefined,
  });
}

/** Without a trailer (a proxy in between, or the channel itself failed), the closest code. */
function pcxCodeForStatus(code: number): ErrorCode {
  if (code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED) return 'PCX_TARGET_UNAVAILABLE';
  if (code === status.UNAUTHENTICATED) return 'PCX_AUTH_INVALID';
  if (code === status.PERMISSION_DENIED) return 'PCX_FORBIDDEN';
  if (code === status.NOT_FOUND) return 'PCX_NOT_FOUND';
  if (code === status.INVALID_ARGUMENT) return 'PCX_BAD_REQUEST';
  if (code === status.RESOURCE_EXHAUSTED) return 'PCX_PAYLOAD_TOO_LARGE';
  return 'PCX_INTERNAL';
}
