import { PcxError, type Logger } from '@portcullis/common';
import type { IGatewayServer } from '@portcullis/proto';
import { headersOf } from '../grpc/metadata.js';
import { toGrpcStatus } from '../grpc/status.js';
import type { Authenticator } from '../identity/authenticator.js';
import { decisionToPb, statusToPb } from './codec.js';
import type { ApprovalService } from './service.js';
import { approvalsCount, type ApprovalState } from './state.js';

type WaitCall = Parameters<IGatewayServer['waitApproval']>[0];
type Update = Parameters<WaitCall['write']>[0];

export function approvalUpdate(service: ApprovalService, s: ApprovalState): Update {
  const r = s.request;
  return {
    approvalId: r.approvalId,
    status: statusToPb(service.status(s)),
    approvals: approvalsCount(s),
    requiredApprovals: r.requiredApprovals,
    votes: s.votes.map((v) => decisionToPb(r.approvalId, v)),
    expiresAt: r.expiresAt,
    ruleId: r.ruleId,
    reason: r.reason,
  };
}

/**
 * Gateway.WaitApproval: the current state at once, then one update per change, and the
 * stream ends when the approval is no longer pending or at the deadline (an OK end whose
 * last update still says PENDING). Only the requester and its approvers may follow an
 * approval; anyone else gets PCX_NOT_FOUND, as for an id that does not exist.
 */
export function waitApprovalHandler(service: ApprovalService, authenticator: Authenticator, logger: Logger): IGatewayServer['waitApproval'] {
  return (call: WaitCall) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    const run = async (): Promise<void> => {
      const who = await authenticator.authenticate(headersOf(call.metadata));
      const id = call.request.approvalId;
      if (!id) throw new PcxError('PCX_BAD_REQUEST', 'approval_id is required');
      const state = service.get(who, id);
      call.write(approvalUpdate(service, state));
      const deadlineMs = Math.min(call.request.deadlineMs || service.maxWaitMs, service.maxWaitMs);
      let last = state;
      await service.wait(
        id,
        service.clock() + deadlineMs,
        (s) => {
          last = s;
          if (!abort.signal.aborted) call.write(approvalUpdate(service, s));
        },
        abort.signal,
      );
      // Expiry has no record of its own: say so before ending.
      const final = service.get(who, id);
      if (service.status(final) !== service.status(last) && !abort.signal.aborted) call.write(approvalUpdate(service, final));
      call.end();
    };
    run().catch((e: unknown) => {
      if (!(e instanceof PcxError)) logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in WaitApproval');
      call.emit('error', toGrpcStatus(e));
    });
  };
}
