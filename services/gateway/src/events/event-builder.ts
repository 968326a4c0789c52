import { uuidv7 } from '@portcullis/common';
import { Action, ConnectionKind, IdentityKind, Phase, encodeEvent, type IAccessEvent } from '@portcullis/proto';
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
  /** What events carry instead of `command`: PII and credentials redacted, capped (audit-text.ts). */
  readonly auditCommand: string;
  readonly facts: CommandFacts;
  /**
   * Where the caller declared the results are bound, normalised (exec/destination.ts);
   * empty or absent when it declared nothing. Written into every RESPONSE event.
   */
  readonly destination?: string;
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

/** The fields every event of one caller, on one connection, from one origin shares (see EventEncoder). */
function staticPart(ctx: Pick<EventContext, 'environment' | 'gatewayId' | 'identity' | 'origin' | 'connection'>): IAccessEvent {
  return {
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
  };
}

/** The fields that change with every event. */
function dynamicPart(ctx: EventContext, phase: number, verdict: EventVerdict, now: number): IAccessEvent {
  return {
    eventId: uuidv7(now),
    requestId: ctx.requestId,
    sessionId: ctx.sessionId,
    time: now,
    phase,
    command: {
      text: ctx.auditCommand,
      fingerprint: ctx.facts.fingerprint,
      statementType: ctx.facts.statementType,
      tables: ctx.facts.tables as string[],
      isWrite: ctx.facts.isWrite,
      hasWhere: ctx.facts.hasWhere,
      hasLimit: ctx.facts.hasLimit,
      riskTags: ctx.facts.riskTags as string[],
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

function common(ctx: EventContext, phase: number, verdict: EventVerdict, now: number): IAccessEvent {
  return { ...staticPart(ctx), ...dynamicPart(ctx, phase, verdict, now) };
}

/** The REQUEST event, published before the command runs (or instead of it, on denial). */
export function requestEvent(ctx: EventContext, verdict: EventVerdict, now: number): IAccessEvent {
  return common(ctx, Phase.REQUEST, verdict, now);
}

/**
 * The REQUEST event of a call refused before anyone was identified (no or a bad token, a
 * malformed request): the origin, the connection asked for, the (redacted) command and
 * why — an insider probing tokens leaves a trace. The identity is empty, so it lands on no
 * detector entity; the store and the SOC still see it.
 */
export function refusedEvent(ctx: Omit<EventContext, 'identity' | 'command' | 'facts'>, verdict: EventVerdict, now: number): IAccessEvent {
  const event = common({ ...ctx, identity: NOBODY, command: '', facts: UNANALYSED }, Phase.REQUEST, verdict, now);
  return { ...event, identity: {}, command: { text: ctx.auditCommand } };
}

const NOBODY: Identity = { subject: '', kind: 'agent', groups: [], credentialId: '', issuer: '' };
const UNANALYSED: CommandFacts = { fingerprint: '', statementType: '', tables: [], isWrite: false, hasWhere: false, hasLimit: false, riskTags: [], parsed: false };

/**
 * The RESPONSE event. The payload should arrive capped (see capPayload); one that is
 * still over `maxPayloadBytes` is dropped whole rather than cut into invalid JSON.
 */
export function responseEvent(ctx: EventContext, verdict: EventVerdict, response: ResponseFacts, maxPayloadBytes: number, now: number): IAccessEvent {
  return withResponse(common(ctx, Phase.RESPONSE, verdict, now), response, maxPayloadBytes, ctx.destination ?? '');
}

function withResponse(event: IAccessEvent, response: ResponseFacts, maxPayloadBytes: number, destination: string): IAccessEvent {
  const payload = Buffer.from(response.payload, 'utf8');
  const over = payload.length > maxPayloadBytes;
  return {
    ...event,
    response: {
      rows: response.rows,
      bytes: response.bytes,
      durationMs: response.durationMs,
      errorCode: response.errorCode,
      pii: response.pii ? Object.entries(response.pii).map(([detector, count]) => ({ detector, count })) : [],
      maskedFields: response.maskedFields ? [...response.maskedFields] : [],
      destination,
    },
    payload: over ? new Uint8Array(0) : payload,
    payloadTruncated: over || response.payloadTruncated,
  };
}

/** An event record for portcullis.events: key = identity subject, value = AccessEvent protobuf. */
export interface EncodedEvent {
  readonly key: string;
  readonly value: Buffer;
  readonly timestamp: number;
}

/** AccessEvent.payload: field 16, wire type 2 (length-delimited) → tag varint 130. */
const PAYLOAD_TAG = Buffer.from([0x82, 0x01]);

const EMPTY_ORIGIN_CACHE = new WeakMap<Origin, Buffer>();

/**
 * Encodes events as `requestEvent`/`responseEvent` + encodeEvent would, with the part
 * that is the same for every command of a caller (environment, gateway id, identity,
 * origin, connection) encoded once and reused: a protobuf message is the concatenation
 * of its fields in any order, so the bytes decode to the same event. The cache is keyed
 * by the identity, connection facts and origin objects (service-token identities,
 * per-connection facts and cached origins are long-lived; others are collected with it).
 */
export class EventEncoder {
  private readonly cache = new WeakMap<Identity, WeakMap<ConnectionFacts, WeakMap<Origin, Buffer>>>();

  constructor(
    private readonly environment: string,
    private readonly gatewayId: string,
  ) {}

  request(ctx: EventContext, verdict: EventVerdict, now: number): EncodedEvent {
    return this.record(ctx, dynamicPart(ctx, Phase.REQUEST, verdict, now), now);
  }

  /**
   * The payload (field 16, bytes) is written straight from its string into the record:
   * no intermediate Buffer for protobufjs to copy again.
   */
  response(ctx: EventContext, verdict: EventVerdict, response: ResponseFacts, maxPayloadBytes: number, now: number): EncodedEvent {
    const event = dynamicPart(ctx, Phase.RESPONSE, verdict, now);
    const payloadBytes = Buffer.byteLength(response.payload, 'utf8');
    const over = payloadBytes > maxPayloadBytes;
    event.response = {
      rows: response.rows,
      bytes: response.bytes,
      durationMs: response.durationMs,
      errorCode: response.errorCode,
      pii: response.pii ? Object.entries(response.pii).map(([detector, count]) => ({ detector, count })) : [],
      maskedFields: response.maskedFields ? (response.maskedFields as string[]) : [],
      destination: ctx.destination ?? '',
    };
    event.payloadTruncated = over || response.payloadTruncated;
    const head = this.staticBytes(ctx);
    const body = encodeEvent(event);
    if (over || payloadBytes === 0) return { key: ctx.identity.subject, value: Buffer.concat([head, body]), timestamp: now };
    let lenBytes = 1;
    for (let n = payloadBytes; n >= 0x80; n >>>= 7) lenBytes++;
    const out = Buffer.allocUnsafe(head.length + body.length + PAYLOAD_TAG.length + lenBytes + payloadBytes);
    let o = head.copy(out, 0);
    o += body.copy(out, o);
    o += PAYLOAD_TAG.copy(out, o);
    let n = payloadBytes;
    while (n >= 0x80) {
      out[o++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[o++] = n;
    out.write(response.payload, o, 'utf8');
    return { key: ctx.identity.subject, value: out, timestamp: now };
  }

  private record(ctx: EventContext, dynamic: IAccessEvent, now: number): EncodedEvent {
    const head = this.staticBytes(ctx);
    return { key: ctx.identity.subject, value: Buffer.concat([head, encodeEvent(dynamic)]), timestamp: now };
  }

  private staticBytes(ctx: EventContext): Buffer {
    if (ctx.environment !== this.environment || ctx.gatewayId !== this.gatewayId) return encodeEvent(staticPart(ctx));
    let byConnection = this.cache.get(ctx.identity);
    if (!byConnection) this.cache.set(ctx.identity, (byConnection = new WeakMap()));
    let byOrigin = byConnection.get(ctx.connection) ?? EMPTY_ORIGIN_CACHE;
    if (byOrigin === EMPTY_ORIGIN_CACHE) byConnection.set(ctx.connection, (byOrigin = new WeakMap()));
    let bytes = byOrigin.get(ctx.origin);
    if (!bytes) byOrigin.set(ctx.origin, (bytes = Buffer.from(encodeEvent(staticPart(ctx)))));
    return bytes;
  }
}
