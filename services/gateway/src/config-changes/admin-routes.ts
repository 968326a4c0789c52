import type { IncomingMessage, ServerResponse } from 'node:http';
import { PcxError, isPcxError, type Logger } from '@portcullis/common';
import { headersOf, json, problem, readJson } from '../admin/routes-io.js';
import type { Authenticator, Identity } from '../identity/authenticator.js';
import type { EventPublisher } from '../events/publisher.js';
import type { ChangeBook } from './change-book.js';
import { encodeChangeRequest, parseChangeRequestBody, type ChangeRequestView } from './change-request.js';

const MAX_BODY_BYTES = 64 * 1024;

export interface ChangeRoutesDeps {
  readonly book: ChangeBook;
  readonly publisher: EventPublisher;
  readonly topic: string;
  readonly authenticator: Authenticator;
  readonly approverGroups: readonly string[];
  readonly maxWindowMs: number;
  readonly environment: string;
  readonly publishTimeoutMs: number;
  readonly logger: Logger;
  readonly now: () => number;
}

/**
 * Change requests on the admin HTTP server, for members of gateway.changes.approverGroups
 * (filing one is approving it: the config-drift detector silences what it covers):
 *   GET    /changes[?status=approved|revoked|all]
 *   GET    /changes/:id
 *   POST   /changes        body: a change request (src/config-changes/change-request.ts)
 *   DELETE /changes/:id    withdraws it (published again as REVOKED, revoked_at = now)
 * A request is answered once the broker has acknowledged the record. Errors are problem
 * JSON with the stable PCX code and, for a malformed request, the `field` at fault.
 */
export function changeRoutes(deps: ChangeRoutesDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const approvers = new Set(deps.approverGroups);

  function authorise(who: Identity): void {
    if (!who.groups.some((g) => approvers.has(g))) throw new PcxError('PCX_FORBIDDEN', 'change requests are open to members of gateway.changes.approverGroups only');
  }

  async function publish(v: ChangeRequestView): Promise<void> {
    await deps.publisher.publishAcked(deps.topic, { key: v.changeId, value: encodeChangeRequest(v) }, deps.publishTimeoutMs);
    deps.book.apply(v.changeId, encodeChangeRequest(v));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const who = await deps.authenticator.authenticate(headersOf(req));
    authorise(who);
    const id = parts[1];
    if (parts.length === 1 && method === 'GET') {
      const status = (url.searchParams.get('status') ?? 'all').toLowerCase();
      if (!['approved', 'revoked', 'all'].includes(status)) throw new PcxError('PCX_BAD_REQUEST', 'status: must be approved, revoked or all', { field: 'status' });
      const changes = deps.book.list().filter((c) => status === 'all' || c.status.toLowerCase() === status);
      return json(res, 200, { changes });
    }
    if (parts.length === 1 && method === 'POST') {
      const body = await readJson(req, MAX_BODY_BYTES);
      const v = parseChangeRequestBody(body, who, { now: deps.now(), maxWindowMs: deps.maxWindowMs, environment: deps.environment });
      if (deps.book.get(v.changeId)) throw new PcxError('PCX_BAD_REQUEST', `changeId: ${v.changeId} exists; withdraw it or use another id`, { field: 'changeId' });
      await publish(v);
      deps.logger.info({ change_id: v.changeId, kind: v.kind, scope: v.scope, approved_by: v.approvedBy, window_start: v.windowStart, window_end: v.windowEnd }, 'change request filed');
      return json(res, 201, v);
    }
    if (parts.length === 2 && id && method === 'GET') {
      const v = deps.book.get(id);
      if (!v) throw new PcxError('PCX_NOT_FOUND', `no change request ${id}`);
      return json(res, 200, v);
    }
    if (parts.length === 2 && id && method === 'DELETE') {
      const v = deps.book.get(id);
      if (!v) throw new PcxError('PCX_NOT_FOUND', `no change request ${id}`);
      if (v.status === 'REVOKED') return json(res, 200, v);
      const revoked: ChangeRequestView = { ...v, status: 'REVOKED', revokedAt: deps.now(), revokedBy: who.subject };
      await publish(revoked);
      deps.logger.info({ change_id: id, revoked_by: who.subject }, 'change request withdrawn');
      return json(res, 200, revoked);
    }
    throw new PcxError('PCX_NOT_FOUND', `no route ${method} ${url.pathname}`);
  }

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!isPcxError(e)) deps.logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in changes API');
      problem(res, isPcxError(e) ? e : new PcxError('PCX_INTERNAL', 'internal error'));
    });
  };
}
