import { createHash } from 'node:crypto';
import { PcxError, isPcxError, type ErrorCode } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import { requestEvent, responseEvent, type EventContext, type EventVerdict } from '../events/event-builder.js';
import { errorPayload } from '../events/payload.js';
import type { HoldVerdict } from '../policy/policy.js';
import type { ApprovalService } from './service.js';
import { approvalsCount, type ApprovalState, type BoundCommand } from './state.js';

/** What the pipeline hands the gate for one held or re-submitted command. */
export interface GateInput {
  readonly ctx: EventContext;
  /** The policy's hold, or undefined for a command policy allowed that came with an approval id. */
  readonly hold: HoldVerdict | undefined;
  readonly approvalId: string;
  readonly holdMs: number;
  readonly publish: (event: IAccessEvent) => void;
  /** The pipeline's denial: publishes the REQUEST event with this verdict and returns the error to throw. */
  readonly deny: (code: ErrorCode, message: string, verdict: Omit<EventVerdict, 'code'>) => PcxError;
}

export interface ApprovalGate {
  /**
   * The verdict a held command runs under (APPROVED, with the approval id), or a thrown
   * PcxError when it may not run: PCX_APPROVAL_REQUIRED (approval id in the message and
   * in context.approvalId) when it is newly held or still pending, PCX_FORBIDDEN when
   * denied or bound to another command, PCX_BAD_REQUEST when used or expired,
   * PCX_NOT_FOUND for an unknown id.
   */
  admit(input: GateInput): Promise<EventVerdict>;
}

export function createApprovalGate(service: ApprovalService, maxEventPayloadBytes: number): ApprovalGate {
  function bound(ctx: EventContext): BoundCommand {
    return { connection: ctx.connection.name, requester: ctx.identity.subject, fingerprint: ctx.facts.fingerprint, commandText: ctx.auditCommand, commandSha256: createHash('sha256').update(ctx.command).digest('hex'), destination: ctx.destination ?? '' };
  }

  function approvedVerdict(state: ApprovalState): EventVerdict {
    const approvers = state.votes.filter((v) => v.vote === 'approve').map((v) => v.approver);
    return { action: 'approved', ruleId: state.request.ruleId, reason: `approved by ${approvers.join(', ')}`, approvalId: state.request.approvalId };
  }

  /** A re-submission: the approval must bind this command and be approved; it is used by this run. */
  function resubmitted(input: GateInput): EventVerdict {
    try {
      return approvedVerdict(service.redeem(input.approvalId, bound(input.ctx), input.ctx.requestId));
    } catch (e) {
      if (!isPcxError(e)) throw e;
      const status = typeof e.context['status'] === 'string' ? e.context['status'] : e.code === 'PCX_NOT_FOUND' ? 'unknown' : 'mismatch';
      throw input.deny(e.code, e.message, { action: 'deny', ruleId: `approvals.${status}`, reason: e.message, approvalId: input.approvalId.slice(0, 64) });
    }
  }

  /** The Exec that waited ends without running: a RESPONSE closes its PENDING_APPROVAL REQUEST in the audit trail. */
  function closeHeld(input: GateInput, state: ApprovalState, err: PcxError): PcxError {
    const verdict: EventVerdict = { action: 'deny', code: err.code, ruleId: state.request.ruleId, reason: err.message, approvalId: state.request.approvalId };
    input.publish(responseEvent(input.ctx, verdict, { rows: 0, bytes: 0, durationMs: 0, errorCode: err.code, payload: errorPayload(err.code, err.message), payloadTruncated: false }, maxEventPayloadBytes, service.clock()));
    return err;
  }

  async function held(input: GateInput, hold: HoldVerdict): Promise<EventVerdict> {
    const { ctx } = input;
    const state = service.open(
      { ...bound(ctx), requesterCredentialId: ctx.identity.credentialId, environment: ctx.environment, sessionId: ctx.sessionId, requestId: ctx.requestId, statementType: ctx.facts.statementType },
      hold,
    );
    const id = state.request.approvalId;
    input.publish(requestEvent(ctx, { action: 'pending_approval', ruleId: hold.ruleId, reason: hold.reason, approvalId: id }, service.clock()));
    const needs = `${state.request.requiredApprovals} approval(s) from ${state.request.approverGroups.join(', ') || '(no approver groups)'}`;
    if (input.holdMs <= 0) {
      throw new PcxError('PCX_APPROVAL_REQUIRED', `${hold.reason}: held for approval ${id} (rule ${hold.ruleId}, needs ${needs}); re-submit the same command with approval_id ${id} once approved`, {
        requestId: ctx.requestId,
        approvalId: id,
      });
    }
    const waitMs = Math.min(input.holdMs, service.maxWaitMs);
    const final = await service.wait(id, service.clock() + waitMs);
    const status = service.status(final);
    if (status === 'approved') {
      try {
        return approvedVerdict(service.redeem(id, bound(ctx), ctx.requestId));
      } catch (e) {
        // Another Exec with this id ran it first (the requester re-submitted meanwhile).
        if (isPcxError(e)) throw closeHeld(input, final, new PcxError(e.code, e.message, { ...e.context, requestId: ctx.requestId, approvalId: id }));
        throw e;
      }
    }
    if (status === 'pending') {
      throw closeHeld(
        input,
        final,
        new PcxError('PCX_APPROVAL_REQUIRED', `approval ${id} still pending after ${waitMs} ms (${approvalsCount(final)} of ${final.request.requiredApprovals}); re-submit with approval_id ${id} once approved`, {
          requestId: ctx.requestId,
          approvalId: id,
          status,
        }),
      );
    }
    const refusal = service.redeemRefusal(final, bound(ctx));
    throw closeHeld(input, final, new PcxError(refusal.code, refusal.message, { ...refusal.context, requestId: ctx.requestId, approvalId: id }));
  }

  return {
    async admit(input) {
      if (input.approvalId) return resubmitted(input);
      if (!input.hold) throw new PcxError('PCX_INTERNAL', 'approval gate called without a hold or an approval id');
      return held(input, input.hold);
    },
  };
}
