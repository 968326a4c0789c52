import { uuidv7 } from '@portcullis/common';
import { Action, ConnectionKind, IdentityKind, Phase, type IAccessEvent } from '@portcullis/proto';
import type { CommandFacts } from '../analysis/command-analyzer.js';
import type { Identity, IdentityKindName } from '../identity/authenticator.js';
import type { Origin } from '../origin/origin.js';

/** What an event says about the connection: never the URL, only where it points. */
export interface ConnectionFacts {
  readonly name: string;
  /** `unknown` for a denied call that named no configured connection. */
  readonly kind: 'postgres' | 'mysql' | 'http' | 'ssh' | 'unknown';
  readonly targetHost: string;
  readonly targetDb: string;
}

export interface EventContext {
  readonly requestId: string;
  readonly sessionId: string;
  readonly environment: string;
  readonly gatewayId: string;
  readonly identity: Identity;
  readonly origin: Origin;
  readonly connection: ConnectionFacts;
  readonly command: string;
  readonly facts: CommandFacts;
}

export type VerdictAction = 'allow' | 'deny' | 'blocked_by_decision' | 'pending_approval' | 'approved' | 'masked';

export interface EventVerdict {
  readonly action: VerdictAction;
  readonly code?: string;
  readonly ruleId?: string;
  readonly reason?: string;
  readonly decisionId?: string;
  /** The approval a held command waits for, or runs under. */
  readonly approvalId?: string;
}

export interface ResponseFacts {
  readonly rows: number;
  readonly bytes: number;
  readonly durationMs: number;
  /** SQLSTATE or PCX code; empty on success. */
  readonly errorCode: string;
  /** The result as the caller saw it, as JSON (or an error object), already capped. */
  readonly payload: string;
  readonly payloadTruncated: boolean;
  /** Sensitive values seen, per detector or column-rule label (never values). */
  readonly pii?: Readonly<Record<string, number>>;
  /** Output columns in which something was masked. */
  readonly maskedFields?: readonly string[];
}

const IDENTITY_KIND: Record<IdentityKindName, number> = { agent: IdentityKind.AGENT, human: IdentityKind.HUMAN, service: IdentityKind.SERVICE };
const CONNECTION_KIND: Record<ConnectionFacts['kind'], number> = {
  postgres: ConnectionKind.POSTGRES,
  mysql: ConnectionKind.MYSQL,
  http: ConnectionKind.HTTP,
  ssh: ConnectionKind.SSH,
  unknown: ConnectionKind.CONNECTION_KIND_UNSPECIFIED,
};
const ACTION: Record<VerdictAction, number> = {
  allow: Action.ALLOW,
  deny: Action.DENY,
  blocked_by_decision: Action.BLOCKED_BY_DECISION,
  pending_approval: Action.PENDING_APPROVAL,
  approved: Action.APPROVED,
  masked: Action.MASKED,
};

function common(ctx: EventContext, phase: number, verdict: EventVerdict, now: number): IAccessEvent {
  return {
    eventId: uuidv7(now),
    requestId: ctx.requestId,
    sessionId: ctx.sessionId,
    time: now,
    phase,
    environment: ctx.environment,
    gatewayId: ctx.gatewayId,
    identity: {
      subject: ctx.identity.subject,
      kind: IDENTITY_KIND[ctx.identity.kind],
      groups: [...ctx.identity.groups],
      credentialId: ctx.identity.credentialId,
      issuer: ctx.identity.issuer,
      onBehalfOf: ctx.identity.onBehalfOf ?? '',
    },
    origin: { ...ctx.origin },
    connection: {
      name: ctx.connection.name,
      kind: CONNECTION_KIND[ctx.connection.kind],
      targetHost: ctx.connection.targetHost,
      targetDb: ctx.connection.targetDb,
    },
    command: {
      text: ctx.command,
      fingerprint: ctx.facts.fingerprint,
      statementType: ctx.facts.statementType,
      tables: [...ctx.facts.tables],
      isWrite: ctx.facts.isWrite,
      hasWhere: ctx.facts.hasWhere,
      hasLimit: ctx.facts.hasLimit,
      riskTags: [...ctx.facts.riskTags],
    },
    verdict: {
      action: ACTION[verdict.action],
      code: verdict.code ?? '',
      ruleId: verdict.ruleId ?? '',
      reason: verdict.reason ?? '',
      decisionId: verdict.decisionId ?? '',
      approvalId: verdict.approvalId ?? '',
    },
  };
}

/** The REQUEST event, published before the command runs (or instead of it, on denial). */
export function requestEvent(ctx: EventContext, verdict: EventVerdict, now: number): IAccessEvent {
  return common(ctx, Phase.REQUEST, verdict, now);
}

/**
 * The RESPONSE event. The payload should arrive capped (see capPayload); one that is
 * still over `maxPayloadBytes` is dropped whole rather than cut into invalid JSON.
 */
export function responseEvent(ctx: EventContext, verdict: EventVerdict, response: ResponseFacts, maxPayloadBytes: number, now: number): IAccessEvent {
  const payload = Buffer.from(response.payload, 'utf8');
  const over = payload.length > maxPayloadBytes;
  return {
    ...common(ctx, Phase.RESPONSE, verdict, now),
    response: {
      rows: response.rows,
      bytes: response.bytes,
      durationMs: response.durationMs,
      errorCode: response.errorCode,
      pii: response.pii ? Object.entries(response.pii).map(([detector, count]) => ({ detector, count })) : [],
      maskedFields: response.maskedFields ? [...response.maskedFields] : [],
    },
    payload: over ? new Uint8Array(0) : payload,
    payloadTruncated: over || response.payloadTruncated,
  };
}
