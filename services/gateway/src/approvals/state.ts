import { PcxError } from '@portcullis/common';

/**
 * The approval state machine, pure: no clock of its own (every function takes `now`), no
 * I/O. A request opens PENDING; N distinct approvers' APPROVE votes make it APPROVED; one
 * DENY makes it DENIED; the run it was granted for makes it USED; a PENDING or APPROVED
 * request past its expiry is EXPIRED whether or not anyone recorded that yet.
 *
 *   PENDING ──N approves──▶ APPROVED ──redeem──▶ USED
 *      │ └──────deny──────▶ DENIED
 *      └──(expires_at)────▶ EXPIRED ◀──(expires_at)── APPROVED
 *
 * Expected refusals (self-approval, a second vote, a command that does not match) are
 * values — `{ ok: false, error }` — so callers choose how to surface them.
 */
export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'used';
export type VoteKind = 'approve' | 'deny';

export interface ApprovalRequest {
  readonly approvalId: string;
  readonly connection: string;
  readonly requester: string;
  readonly requesterCredentialId: string;
  readonly fingerprint: string;
  /** For approvers to read: PII and credentials redacted (events/audit-text.ts). */
  readonly commandText: string;
  /** What binds the approval to the exact text. */
  readonly commandSha256: string;
  /** The declared destination of the results: approving a read approves where it goes too. */
  readonly destination: string;
  readonly ruleId: string;
  readonly reason: string;
  readonly requiredApprovals: number;
  readonly approverGroups: readonly string[];
  readonly createdAt: number;
  readonly expiresAt: number;
  readonly environment: string;
  readonly sessionId: string;
  readonly requestId: string;
}

export interface ApprovalVote {
  readonly approver: string;
  readonly vote: VoteKind;
  readonly time: number;
  readonly comment: string;
}

export interface ApprovalState {
  readonly request: ApprovalRequest;
  /** As recorded; read it through effectiveStatus, which applies expiry. */
  readonly status: ApprovalStatus;
  readonly votes: readonly ApprovalVote[];
  readonly updatedAt: number;
  readonly usedAt: number;
  readonly usedByRequestId: string;
}

export interface Voter {
  readonly subject: string;
  readonly groups: readonly string[];
}

/** The command a caller wants to run under an approval. */
export interface BoundCommand {
  readonly connection: string;
  readonly requester: string;
  readonly fingerprint: string;
  readonly commandText: string;
  readonly commandSha256: string;
  readonly destination: string;
}

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: PcxError };

const ok = <T>(value: T): Outcome<T> => ({ ok: true, value });
const fail = <T>(error: PcxError): Outcome<T> => ({ ok: false, error });

export type OpenInput = Omit<ApprovalRequest, 'createdAt' | 'expiresAt'>;

export function openApproval(input: OpenInput, now: number, ttlMs: number): ApprovalState {
  return {
    request: { ...input, approverGroups: [...input.approverGroups], createdAt: now, expiresAt: now + ttlMs },
    status: 'pending',
    votes: [],
    updatedAt: now,
    usedAt: 0,
    usedByRequestId: '',
  };
}

/** The status as of `now`: an undecided or unused approval lapses at expires_at. */
export function effectiveStatus(state: ApprovalState, now: number): ApprovalStatus {
  if ((state.status === 'pending' || state.status === 'approved') && now >= state.request.expiresAt) return 'expired';
  return state.status;
}

export function approvalsCount(state: ApprovalState): number {
  return state.votes.filter((v) => v.vote === 'approve').length;
}

/** May this identity vote on the request at all (and so see it)? Not the requester; a member of an approver group. */
export function isApprover(state: ApprovalState, who: Voter): boolean {
  return who.subject !== state.request.requester && who.groups.some((g) => state.request.approverGroups.includes(g));
}

/** Who may see a request: its requester and whoever may approve it. */
export function isVisibleTo(state: ApprovalState, who: Voter): boolean {
  return who.subject === state.request.requester || isApprover(state, who);
}

export function castVote(state: ApprovalState, voter: Voter, vote: VoteKind, comment: string, now: number): Outcome<ApprovalState> {
  const id = state.request.approvalId;
  const status = effectiveStatus(state, now);
  // Self-approval is refused before anything else, so the answer does not depend on timing.
  if (voter.subject === state.request.requester) {
    return fail(new PcxError('PCX_FORBIDDEN', `approval ${id}: a requester cannot vote on their own request`, { approvalId: id }));
  }
  if (state.request.approverGroups.length === 0) {
    return fail(new PcxError('PCX_FORBIDDEN', `approval ${id}: its rule names no approver groups, so nobody may approve it`, { approvalId: id }));
  }
  if (!isApprover(state, voter)) {
    return fail(new PcxError('PCX_FORBIDDEN', `approval ${id}: approvers must be in one of the groups ${state.request.approverGroups.join(', ')}`, { approvalId: id }));
  }
  if (state.votes.some((v) => v.approver === voter.subject)) {
    return fail(new PcxError('PCX_BAD_REQUEST', `approval ${id}: ${voter.subject} already voted; a vote counts once`, { approvalId: id, status }));
  }
  if (status !== 'pending') {
    return fail(new PcxError('PCX_BAD_REQUEST', `approval ${id} is ${status}; only a pending approval takes votes`, { approvalId: id, status }));
  }
  const votes = [...state.votes, { approver: voter.subject, vote, time: now, comment }];
  const next: ApprovalState = { ...state, votes, updatedAt: now };
  return ok({ ...next, status: statusFromVotes(next) });
}

function statusFromVotes(state: ApprovalState): ApprovalStatus {
  if (state.votes.some((v) => v.vote === 'deny')) return 'denied';
  return approvalsCount(state) >= state.request.requiredApprovals ? 'approved' : 'pending';
}

/**
 * Whether `command` may run under this approval: the same connection, requester,
 * fingerprint, text and declared destination (an approval binds exactly one command), and APPROVED now.
 * The binding is checked first so that someone else's command learns nothing about
 * the approval's progress.
 */
export function checkRedeemable(state: ApprovalState, command: BoundCommand, now: number): Outcome<ApprovalState> {
  const r = state.request;
  const id = r.approvalId;
  const mismatch =
    command.requester !== r.requester ? 'requester' : command.connection !== r.connection ? 'connection' : command.fingerprint !== r.fingerprint ? 'fingerprint' : command.commandSha256 !== r.commandSha256 ? 'text' : command.destination !== r.destination ? 'destination' : undefined;
  if (mismatch) {
    return fail(new PcxError('PCX_FORBIDDEN', `approval ${id} binds another command (${mismatch} differs); re-submit exactly the command that was held`, { approvalId: id, mismatch }));
  }
  const status = effectiveStatus(state, now);
  if (status === 'approved') return ok(state);
  if (status === 'pending') {
    return fail(new PcxError('PCX_APPROVAL_REQUIRED', `approval ${id} is pending (${approvalsCount(state)} of ${r.requiredApprovals} approvals)`, { approvalId: id, status }));
  }
  if (status === 'denied') {
    const by = state.votes.find((v) => v.vote === 'deny');
    return fail(new PcxError('PCX_FORBIDDEN', `approval ${id} was denied${by ? ` by ${by.approver}${by.comment ? `: ${by.comment}` : ''}` : ''}`, { approvalId: id, status }));
  }
  return fail(new PcxError('PCX_BAD_REQUEST', `approval ${id} is ${status}; an approval runs one command once, before it expires`, { approvalId: id, status }));
}

/** checkRedeemable, then USED by `requestId`: the one run this approval grants. */
export function redeem(state: ApprovalState, command: BoundCommand, requestId: string, now: number): Outcome<ApprovalState> {
  const checked = checkRedeemable(state, command, now);
  if (!checked.ok) return checked;
  return ok({ ...state, status: 'used', usedAt: now, usedByRequestId: requestId, updatedAt: now });
}

/** Records a lapse, so the topic (and the store) say EXPIRED rather than a stale PENDING. */
export function expire(state: ApprovalState, now: number): ApprovalState | undefined {
  return effectiveStatus(state, now) === 'expired' && state.status !== 'expired' ? { ...state, status: 'expired', updatedAt: now } : undefined;
}

const RANK: Record<ApprovalStatus, number> = { pending: 0, approved: 1, expired: 2, denied: 3, used: 4 };

/**
 * Two views of the same approval (ours and one from the topic, written by another
 * replica) merged: votes are a union by approver (the earlier vote stands), terminal
 * states win (USED over DENIED over EXPIRED), and the votes decide between PENDING and
 * APPROVED. Merging is commutative and idempotent, so replicas converge whatever order
 * records arrive in.
 */
export function mergeStates(a: ApprovalState, b: ApprovalState): ApprovalState {
  const byApprover = new Map<string, ApprovalVote>();
  for (const v of [...a.votes, ...b.votes].sort((x, y) => x.time - y.time || x.approver.localeCompare(y.approver))) {
    if (!byApprover.has(v.approver)) byApprover.set(v.approver, v);
  }
  const votes = [...byApprover.values()];
  const used = a.status === 'used' ? a : b.status === 'used' ? b : undefined;
  const base: ApprovalState = {
    request: a.request.createdAt <= b.request.createdAt ? a.request : b.request,
    status: 'pending',
    votes,
    updatedAt: Math.max(a.updatedAt, b.updatedAt),
    usedAt: used?.usedAt ?? 0,
    usedByRequestId: used?.usedByRequestId ?? '',
  };
  const recorded = RANK[a.status] >= RANK[b.status] ? a.status : b.status;
  const fromVotes = statusFromVotes(base);
  return { ...base, status: RANK[recorded] >= RANK[fromVotes] ? recorded : fromVotes };
}

export function sameState(a: ApprovalState, b: ApprovalState): boolean {
  return a.status === b.status && a.votes.length === b.votes.length && a.usedAt === b.usedAt && a.updatedAt === b.updatedAt;
}
