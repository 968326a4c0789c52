import { status as GrpcStatus } from '@grpc/grpc-js';
import { isPcxError, PcxError } from '@portcullis/common';
import { createGatewayClient } from '@portcullis/gateway';
import { toExecResult, type ExecResult } from './exec-result.js';

export interface ExecCall {
  address: string;
  token: string;
  connection: string;
  command: string;
  /** Declared origin, sent as x-portcullis-host / x-portcullis-container. */
  host?: string | undefined;
  container?: string | undefined;
  /** Where the results go next (ExecRequest.destination); the gateway normalises or refuses it. */
  destination?: string | undefined;
  timeoutMs?: number;
  /** Re-submit a held command under its approval (see commands/approvals.ts). */
  approvalId?: string | undefined;
}

/** One Exec on the gateway through its client helper (plaintext gRPC in this release). */
export async function execOnGateway(call: ExecCall): Promise<ExecResult> {
  const client = createGatewayClient(call.address, call.token, { host: call.host, container: call.container, process: 'portcullis-cli' });
  try {
    return toExecResult(await client.exec(call.connection, call.command, { timeoutMs: call.timeoutMs ?? 60_000, ...(call.approvalId ? { approvalId: call.approvalId } : {}), ...(call.destination ? { destination: call.destination } : {}) }));
  } catch (e) {
    throw explainUnreachable(e, call.address);
  } finally {
    client.close();
  }
}

/** Without a pcx-code trailer an UNAVAILABLE is the channel itself: say which gateway could not be reached. */
function explainUnreachable(e: unknown, address: string): unknown {
  if (isPcxError(e) && e.code === 'PCX_TARGET_UNAVAILABLE' && (e.context.grpcStatus === GrpcStatus.UNAVAILABLE || e.context.grpcStatus === GrpcStatus.DEADLINE_EXCEEDED)) {
    return new PcxError('PCX_TARGET_UNAVAILABLE', `cannot reach the gateway at ${address}: ${e.message}`, {}, { cause: e });
  }
  return e;
}
