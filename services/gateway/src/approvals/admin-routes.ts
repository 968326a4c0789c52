import type { IncomingMessage, ServerResponse } from 'node:http';
import { PcxError, isPcxError, type Logger } from '@portcullis/common';
import { headersOf, json, problem, readJson } from '../admin/routes-io.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { ApprovalService } from './service.js';
import { approvalsCount, type ApprovalState, type ApprovalStatus, type VoteKind } from './state.js';

/** The JSON an approver (or the requester) sees of one approval. */
export interface ApprovalView {
  approvalId: string;
  status: ApprovalStatus;
  connection: string;
  requester: string;
  requesterCredentialId: string;
  commandText: string;
  fingerprint: string;
  /** Where the caller declared the results go; empty when it declared none. */
  destination: string;
  ruleId: string;
  reason: string;
  requiredApprovals: number;
  approvals: number;
  approverGroups: string[];
  createdAt: number;
  expiresAt: number;
  environment: string;
  sessionId: string;
  requestId: string;
  votes: Array<{ approver: string; vote: VoteKind; time: number; comment: string }>;
  usedAt: number;
  usedByRequestId: string;
}

export function approvalView(state: ApprovalState, status: ApprovalStatus): ApprovalView {
  const r = state.request;
  return {
    approvalId: r.approvalId,
    status,
    connection: r.connection,
    requester: r.requester,
    requesterCredentialId: r.requesterCredentialId,
    commandText: r.commandText,
    fingerprint: r.fingerprint,
    destination: r.destination,
    ruleId: r.ruleId,
    reason: r.reason,
    requiredApprovals: r.requiredApprovals,
    approvals: approvalsCount(state),
    approverGroups: [...r.approverGroups],
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    environment: r.environment,
    sessionId: r.sessionId,
    requestId: r.requestId,
    votes: state.votes.map((v) => ({ ...v })),
    usedAt: state.usedAt,
    usedByRequestId: state.usedByRequestId,
  };
}

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'used'];
const MAX_BODY_BYTES = 16 * 1024;

/**
 * The approvals API on the admin HTTP server, authenticated with the same bearer tokens
 * as gRPC callers:
 *   GET  /approvals[?status=pending|approved|denied|expired|used]
 *   GET  /approvals/:id
 *   POST /approvals/:id/approve   body {"comment": "…"} (optional)
 *   POST /approvals/:id/deny      body {"comment": "…"} (optional)
 * Errors are problem JSON (application/problem+json) carrying the stable PCX code.
 */
export function approvalRoutes(service: ApprovalService, authenticator: Authenticator, logger: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const who = await authenticator.authenticate(headersOf(req));
    if (parts.length === 1 && method === 'GET') {
      const status = url.searchParams.get('status') ?? undefined;
      if (status !== undefined && status !== 'all' && !STATUSES.includes(status as ApprovalStatus)) {
        throw new PcxError('PCX_BAD_REQUEST', `status must be one of ${STATUSES.join(', ')}, all`);
      }
      const list = service.list(who, status === 'all' ? undefined : (status as ApprovalStatus | undefined));
      return json(res, 200, { approvals: list.map((s) => approvalView(s, service.status(s))) });
    }
    const id = parts[1];
    if (parts.length === 2 && id && method === 'GET') {
      const s = service.get(who, id);
      return json(res, 200, approvalView(s, service.status(s)));
    }
    const action = parts[2];
    if (parts.length === 3 && id && (action === 'approve' || action === 'deny')) {
      if (method !== 'POST') throw new PcxError('PCX_BAD_REQUEST', `${action} is POST`);
      const body = await readJson(req, MAX_BODY_BYTES);
      const comment = typeof body['comment'] === 'string' ? body['comment'] : '';
      const s = service.vote(who, id, action, comment);
      return json(res, 200, approvalView(s, service.status(s)));
    }
    throw new PcxError('PCX_NOT_FOUND', `no route ${method} ${url.pathname}`);
  }

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!isPcxError(e)) logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in approvals API');
      const err = isPcxError(e) ? e : new PcxError('PCX_INTERNAL', 'internal error');
      problem(res, err);
    });
  };
}
