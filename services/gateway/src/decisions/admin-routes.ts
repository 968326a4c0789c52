import type { IncomingMessage, ServerResponse } from 'node:http';
import { PcxError, isPcxError, type Logger } from '@portcullis/common';
import type { Bus } from '@portcullis/bus';
import type { Decision } from '@portcullis/proto';
import { headersOf, json, problem, readJson } from '../admin/routes-io.js';
import type { Authenticator, Identity } from '../identity/authenticator.js';
import type { DecisionView } from './decision-view.js';

/** One decision in force, as GET /decisions lists it (the shape `portcullis decisions list --json` prints). */
export interface DecisionRowView {
  subject: string;
  decisionId: string;
  source: string;
  reason: string;
  alertId: string;
  environment: string;
  createdAt: number;
  expiresAt: number;
}

export interface DecisionLiftResult {
  subject: string;
  liftedBy: string;
  reason: string;
  /** The decision that was in force on this gateway, or null (the tombstone is published anyway). */
  lifted: DecisionRowView | null;
  /** Whether this gateway's view had dropped the block when the response was sent. */
  applied: boolean;
}

/** A lift body is a reason; the bound the approvals API has. */
const MAX_BODY_BYTES = 16 * 1024;

export interface DecisionRoutesOptions {
  readonly view: DecisionView;
  readonly bus: Bus;
  readonly topic: string;
  readonly authenticator: Authenticator;
  /** Callers in one of these groups may list and lift; everyone else gets PCX_FORBIDDEN. */
  readonly adminGroups: readonly string[];
  readonly logger: Logger;
  /** How long DELETE waits for this gateway's own view to drop the block. Default 5000. */
  readonly applyWaitMs?: number;
  readonly now?: () => number;
}

const SUBJECT = /^(credential|identity|origin|session):./;

export function decisionRowView(subject: string, d: Decision): DecisionRowView {
  return {
    subject,
    decisionId: d.decisionId,
    source: d.source,
    reason: d.reason,
    alertId: d.alertId,
    environment: d.environment,
    createdAt: Number(d.createdAt ?? 0),
    expiresAt: Number(d.expiresAt ?? 0),
  };
}

/**
 * The decisions API on the admin HTTP server (the embedded mode's way to lift a block,
 * where no other process can reach the in-process bus), authenticated with the same
 * bearer tokens as gRPC callers and open to members of gateway.decisions.adminGroups:
 *   GET    /decisions            the live blocks of this gateway's view
 *   DELETE /decisions/:subject   body {"reason": "…"} (required): a tombstone for the key
 *                                on portcullis.decisions with headers lifted-by (the
 *                                caller's subject), reason, lifted-at and decision-id
 * Errors are problem JSON carrying the stable PCX code.
 */
export function decisionRoutes(opts: DecisionRoutesOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { view, bus, topic, authenticator, logger } = opts;
  const now = opts.now ?? Date.now;
  const applyWaitMs = opts.applyWaitMs ?? 5_000;
  const admins = new Set(opts.adminGroups);

  function authorise(who: Identity): void {
    if (!who.groups.some((g) => admins.has(g))) {
      throw new PcxError('PCX_FORBIDDEN', `${who.subject} may not list or lift decisions (needs one of the groups ${[...admins].join(', ') || '(none configured)'})`);
    }
  }

  async function lift(who: Identity, subject: string, reason: string): Promise<DecisionLiftResult> {
    const at = now();
    const current = view.liveBlock(subject, at);
    const producer = await bus.producer();
    try {
      await producer.send(topic, [{ key: subject, value: null, headers: { 'lifted-by': who.subject, reason, 'lifted-at': String(at), ...(current ? { 'decision-id': current.decisionId } : {}) } }]);
    } finally {
      await producer.close();
    }
    logger.warn({ subject, liftedBy: who.subject, credential: who.credentialId, reason, decisionId: current?.decisionId, source: current?.source }, 'block decision lifted');
    // The caller's next command usually comes to this gateway: answer once its own view has dropped the block.
    const deadline = Date.now() + applyWaitMs;
    while (view.liveBlock(subject) !== undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    return { subject, liftedBy: who.subject, reason, lifted: current ? decisionRowView(subject, current) : null, applied: view.liveBlock(subject) === undefined };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    const who = await authenticator.authenticate(headersOf(req));
    authorise(who);
    if (parts.length === 1 && method === 'GET') {
      const rows = view.liveBlocks(now()).map(([k, d]) => decisionRowView(k, d));
      rows.sort((a, b) => a.createdAt - b.createdAt || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
      return json(res, 200, { decisions: rows });
    }
    if (parts.length === 2 && method === 'DELETE') {
      let subject: string;
      try {
        subject = decodeURIComponent(parts[1] ?? '');
      } catch {
        throw new PcxError('PCX_BAD_REQUEST', 'the subject is not valid URL encoding');
      }
      if (!SUBJECT.test(subject)) throw new PcxError('PCX_BAD_REQUEST', 'the subject is credential:<id>, identity:<subject>, origin:<…> or session:<id>');
      const body = await readJson(req, MAX_BODY_BYTES);
      const reason = typeof body['reason'] === 'string' ? body['reason'].trim() : '';
      if (!reason) throw new PcxError('PCX_BAD_REQUEST', 'a reason is required (body {"reason": "…"}); it is recorded with the lift');
      return json(res, 200, await lift(who, subject, reason));
    }
    throw new PcxError('PCX_NOT_FOUND', `no route ${method} ${url.pathname}`);
  }

  return (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!isPcxError(e)) logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in decisions API');
      problem(res, isPcxError(e) ? e : new PcxError('PCX_INTERNAL', 'internal error'));
    });
  };
}
