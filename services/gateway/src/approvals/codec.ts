import { pb } from '@portcullis/proto';
import type { ApprovalState, ApprovalStatus, ApprovalVote, VoteKind } from './state.js';

/**
 * ApprovalState ⇄ its protobuf on portcullis.approvals (key: approval id). The topic is
 * compacted, so each record carries the whole state, never a delta.
 */
type IApprovalState = Parameters<typeof pb.ApprovalState.encode>[0];
type IApprovalDecision = NonNullable<IApprovalState['votes']>[number];

const STATUS_TO_PB: Record<ApprovalStatus, number> = {
  pending: pb.ApprovalStatus.APPROVAL_STATUS_PENDING,
  approved: pb.ApprovalStatus.APPROVAL_STATUS_APPROVED,
  denied: pb.ApprovalStatus.APPROVAL_STATUS_DENIED,
  expired: pb.ApprovalStatus.APPROVAL_STATUS_EXPIRED,
  used: pb.ApprovalStatus.APPROVAL_STATUS_USED,
};

export function statusToPb(s: ApprovalStatus): number {
  return STATUS_TO_PB[s];
}

export function statusFromPb(n: number): ApprovalStatus | undefined {
  return (Object.keys(STATUS_TO_PB) as ApprovalStatus[]).find((k) => STATUS_TO_PB[k] === n);
}

export function voteToPb(v: VoteKind): number {
  return v === 'approve' ? pb.ApprovalVote.VOTE_APPROVE : pb.ApprovalVote.VOTE_DENY;
}

export function decisionToPb(approvalId: string, v: ApprovalVote): IApprovalDecision {
  return { approvalId, approver: v.approver, vote: voteToPb(v.vote), time: v.time, comment: v.comment };
}

export function toApprovalStateMessage(s: ApprovalState): IApprovalState {
  const r = s.request;
  return {
    request: { ...r, approverGroups: [...r.approverGroups] },
    status: statusToPb(s.status),
    votes: s.votes.map((v) => decisionToPb(r.approvalId, v)),
    updatedAt: s.updatedAt,
    usedAt: s.usedAt,
    usedByRequestId: s.usedByRequestId,
  };
}

export function encodeApprovalState(s: ApprovalState): Buffer {
  const w = pb.ApprovalState.encode(toApprovalStateMessage(s)).finish();
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/** Throws on bytes that are not an ApprovalState or carry no id / unknown status. */
export function decodeApprovalState(bytes: Uint8Array): ApprovalState {
  const m = pb.ApprovalState.decode(bytes);
  // Decoded messages leave absent nested fields undefined; defaults fill them.
  const r = m.request ? pb.ApprovalRequest.fromObject(pb.ApprovalRequest.toObject(m.request as InstanceType<typeof pb.ApprovalRequest>, { defaults: true })) : undefined;
  const status = statusFromPb(m.status);
  if (!r?.approvalId || !status) throw new Error('approval record without id or status');
  const votes: ApprovalVote[] = m.votes.map((v) => ({
    approver: v.approver ?? '',
    vote: v.vote === pb.ApprovalVote.VOTE_APPROVE ? 'approve' : 'deny',
    time: Number(v.time ?? 0),
    comment: v.comment ?? '',
  }));
  return {
    request: {
      approvalId: r.approvalId,
      connection: r.connection,
      requester: r.requester,
      requesterCredentialId: r.requesterCredentialId,
      fingerprint: r.fingerprint,
      commandText: r.commandText,
      commandSha256: r.commandSha256,
      destination: r.destination,
      ruleId: r.ruleId,
      reason: r.reason,
      requiredApprovals: r.requiredApprovals,
      approverGroups: [...r.approverGroups],
      createdAt: Number(r.createdAt),
      expiresAt: Number(r.expiresAt),
      environment: r.environment,
      sessionId: r.sessionId,
      requestId: r.requestId,
    },
    status,
    votes,
    updatedAt: Number(m.updatedAt),
    usedAt: Number(m.usedAt),
    usedByRequestId: m.usedByRequestId,
  };
}
