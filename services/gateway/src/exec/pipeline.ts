import { PcxError, isPcxError, uuidv7, type ConnectionConfig, type ErrorCode, type Logger } from '@portcullis/common';
import { encodeEvent, type Decision, type IAccessEvent } from '@portcullis/proto';
import type { CommandAnalyzer } from '../analysis/command-analyzer.js';
import { blockReason } from '../decisions/decision-view.js';
import type { DecisionView } from '../decisions/decision-view.js';
import { subjectsOf } from '../decisions/subjects.js';
import { EventEncoder, refusedEvent, type ConnectionFacts, type EncodedEvent, type EventContext, type EventVerdict, type ResponseFacts } from '../events/event-builder.js';
import { capPayload, errorPayload } from '../events/payload.js';
import type { EventPublisher } from '../events/publisher.js';
import { accessFor, type Access } from '../grants/grants.js';
import type { Authenticator, CallHeaders, Identity } from '../identity/authenticator.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';
import { OriginCache, type Origin } from '../origin/origin.js';
import type { Policy } from '../policy/policy.js';
import type { ApprovalGate } from '../approvals/gate.js';
import type { ResultSet, ResultValue, Target } from '../targets/target.js';
import { maskedEvent, type ResponseMasking } from '../masking/response-masking.js';
import { readOnlyRefusal } from '../grants/grants.js';
import { auditText, capUtf8, redactSensitive } from '../events/audit-text.js';
import type { Flight, InFlight } from './in-flight.js';
import { declaredDestination, DESTINATION_HEADER } from './destination.js';
import { validateCommand } from './validate.js';

export interface ExecInput {
  readonly connection: string;
  readonly command: string;
  /** Empty: the gateway starts a session. */
  readonly sessionId: string;
  readonly params: readonly ResultValue[];
  readonly headers: CallHeaders;
  /** The transport's peer string (grpc-js call.getPeer()). */
  readonly peer: string;
  /** A held command re-submitted under its approval (src/approvals). */
  readonly approvalId?: string;
  /** How long a newly held command may wait for its approval; 0 = answer PCX_APPROVAL_REQUIRED at once. */
  readonly holdMs?: number;
  /**
   * ExecRequest.destination as sent: where the caller says the results go. It wins over
   * the `x-portcullis-destination` metadata; normalised, or refused, by exec/destination.ts.
   */
  readonly destination?: string;
}

export interface ExecOutput {
  readonly requestId: string;
  readonly sessionId: string;
  readonly result: ResultSet;
  readonly durationMs: number;
}

export interface ConnectionInfo {
  readonly name: string;
  readonly kind: string;
  readonly access: Access;
}

export interface PipelineConnection {
  readonly config: ConnectionConfig;
  readonly target: Target;
}

export interface PipelineDeps {
  readonly environment: string;
  readonly gatewayId: string;
  readonly limits: { readonly maxCommandBytes: number; readonly maxEventCommandBytes: number; readonly maxEventPayloadBytes: number; readonly maxResultRows: number };
  readonly eventsTopic: string;
  readonly auditTimeoutMs: number;
  readonly authenticator: Authenticator;
  readonly connections: ReadonlyMap<string, PipelineConnection>;
  readonly decisions: Pick<DecisionView, 'isBlocked'>;
  readonly policy: Policy;
  readonly analyzer: CommandAnalyzer;
  readonly publisher: EventPublisher;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly now?: () => number;
  /** Holds and approvals (src/approvals). Absent: a hold is refused, as no one could approve it. */
  readonly approvals?: ApprovalGate;
  /** Per-connection response masking (src/masking). Absent: results pass as the target sent them. */
  readonly masking?: ResponseMasking;
  /** Running commands by decision subject, so a new block ends them (src/exec/in-flight.ts). */
  readonly inFlight?: InFlight;
}

export interface ExecPipeline {
  exec(input: ExecInput): Promise<ExecOutput>;
  listConnections(headers: CallHeaders): Promise<ConnectionInfo[]>;
}

const UNKNOWN_LABEL = '(unknown)';

/**
 * One command, start to end: validate → authenticate → connection and grant → decision
 * view → policy → REQUEST event → target → RESPONSE event → answer.
 *
 * Denials throw PcxError after publishing a REQUEST event with the deny verdict, so
 * attempts are seen. Calls that fail validation or authentication publish nothing: no
 * identity can be attached to them and an unauthenticated caller must not be able to fill
 * the audit stream; they are counted in the metrics.
 *
 * A caller without a grant on an existing connection gets the same PCX_CONNECTION_UNKNOWN
 * as for a name that does not exist, so connection names cannot be enumerated; the REQUEST
 * event says which it was (rule `connection.unknown` or `grants.none`).
 */
export function createExecPipeline(deps: PipelineDeps): ExecPipeline {
  const now = deps.now ?? Date.now;
  const { metrics, logger } = deps;

  const encoder = new EventEncoder(deps.environment, deps.gatewayId);
  const origins = new OriginCache();
  const maxPayloadBytes = deps.limits.maxEventPayloadBytes;
  // Label objects per connection, made once: the metrics key them on every call.
  const labels = new Map<string, { total: Map<string, { connection: string; code: string }>; seconds: { connection: string } }>();
  function labelsOf(connection: string): { total: Map<string, { connection: string; code: string }>; seconds: { connection: string } } {
    let l = labels.get(connection);
    if (!l) labels.set(connection, (l = { total: new Map(), seconds: { connection } }));
    return l;
  }
  function totalLabel(connection: string, code: string): { connection: string; code: string } {
    const byCode = labelsOf(connection).total;
    let l = byCode.get(code);
    if (!l) byCode.set(code, (l = { connection, code }));
    return l;
  }

  function publish(event: IAccessEvent): void {
    deps.publisher.publish(deps.eventsTopic, eventRecord(event));
  }

  function publishResponse(ctx: EventContext, verdict: EventVerdict, response: ResponseFacts): void {
    deps.publisher.publish(deps.eventsTopic, encoder.response(ctx, verdict, response, maxPayloadBytes, now()));
  }

  function deny(ctx: EventContext, code: ErrorCode, message: string, verdict: Omit<EventVerdict, 'code'>): PcxError {
    deps.publisher.publish(deps.eventsTopic, encoder.request(ctx, { ...verdict, code }, now()));
    logger.info({ request_id: ctx.requestId, session_id: ctx.sessionId, connection: ctx.connection.name, subject: ctx.identity.subject, code, rule: verdict.ruleId }, 'exec denied');
    return new PcxError(code, message, { requestId: ctx.requestId, ...(verdict.approvalId ? { approvalId: verdict.approvalId } : {}) });
  }

  /** A call refused before identification: audited as a REQUEST with no identity (refusedEvent). */
  function refused(input: ExecInput, origin: Origin, conn: PipelineConnection | undefined, e: PcxError): PcxError {
    const requestId = uuidv7();
    // An oversize command is not scanned: its size is the story, and the reason says it.
    const oversize = e.code === 'PCX_PAYLOAD_TOO_LARGE';
    const ctx = {
      requestId,
      sessionId: input.sessionId || uuidv7(),
      environment: deps.environment,
      gatewayId: deps.gatewayId,
      origin,
      connection: conn?.target.facts ?? unknownConnection(input.connection),
      auditCommand: oversize ? '' : capUtf8(redactSensitive(input.command), deps.limits.maxEventCommandBytes),
    };
    deps.publisher.publish(deps.eventsTopic, eventRecord(refusedEvent(ctx, { action: 'deny', code: e.code, reason: e.message }, now())));
    logger.info({ request_id: requestId, connection: ctx.connection.name, peer_ip: origin.peerIp, code: e.code }, 'exec refused before identification');
    return new PcxError(e.code, e.message, { ...e.context, requestId });
  }

  async function exec(input: ExecInput): Promise<ExecOutput> {
    const started = performance.now();
    const known = deps.connections.get(input.connection);
    const label = known ? input.connection : UNKNOWN_LABEL;
    try {
      const out = await execInner(input, known);
      metrics.execTotal.inc(totalLabel(label, 'OK'));
      return out;
    } catch (e) {
      metrics.execTotal.inc(totalLabel(label, isPcxError(e) ? e.code : 'PCX_INTERNAL'));
      throw e;
    } finally {
      metrics.execSeconds.observe((performance.now() - started) / 1000, labelsOf(label).seconds);
    }
  }

  async function execInner(input: ExecInput, conn: PipelineConnection | undefined): Promise<ExecOutput> {
    const origin = origins.of(input.peer, input.headers);
    let identity: Identity;
    let destination: string;
    try {
      validateCommand(input.connection, input.command, deps.limits.maxCommandBytes);
      destination = validDestination(input);
      identity = await deps.authenticator.authenticate(input.headers);
    } catch (e) {
      throw isPcxError(e) ? refused(input, origin, conn, e) : e;
    }
    const facts = deps.analyzer.analyze(input.command, conn?.config.kind === 'mysql' ? 'mysql' : 'postgres');
    const ctx: EventContext = {
      requestId: uuidv7(),
      sessionId: input.sessionId || uuidv7(),
      environment: deps.environment,
      gatewayId: deps.gatewayId,
      identity,
      origin,
      connection: conn?.target.facts ?? unknownConnection(input.connection),
      command: input.command,
      auditCommand: auditText(input.command, facts, deps.limits.maxEventCommandBytes),
      facts,
      destination,
    };

    const unknownMessage = `no connection named ${JSON.stringify(input.connection)}`;
    if (!conn) throw deny(ctx, 'PCX_CONNECTION_UNKNOWN', unknownMessage, { action: 'deny', ruleId: 'connection.unknown' });
    const access = accessFor(identity, conn.config.grants);
    if (!access) throw deny(ctx, 'PCX_CONNECTION_UNKNOWN', unknownMessage, { action: 'deny', ruleId: 'grants.none' });
    const readOnly = access === 'read' ? readOnlyRefusal(conn.config.name, facts) : undefined;
    if (readOnly) throw deny(ctx, 'PCX_FORBIDDEN', readOnly, { action: 'deny', ruleId: 'grants.read-only' });

    const subjects = subjectsOf(identity, origin, ctx.sessionId);
    const blocked = deps.decisions.isBlocked(subjects, now());
    if (blocked) {
      const reason = blockReason(blocked);
      throw deny(ctx, 'PCX_BLOCKED_BY_DECISION', reason, { action: 'blocked_by_decision', ruleId: `decision:${blocked.source}`, reason, decisionId: blocked.decisionId });
    }

    const verdict = await deps.policy.evaluate({ requestId: ctx.requestId, sessionId: ctx.sessionId, identity, origin, connection: { name: conn.config.name, kind: conn.config.kind }, access, command: input.command, facts });
    if (verdict.action === 'deny') throw deny(ctx, verdict.code, verdict.message, { action: 'deny', ruleId: verdict.rule, reason: verdict.message });

    // ── approvals (src/approvals/gate.ts): a held command, or one re-submitted with its approval id.
    let allow: EventVerdict;
    if (verdict.action === 'hold' || input.approvalId) {
      const hold = verdict.action === 'hold' ? verdict : undefined;
      if (!deps.approvals) throw deny(ctx, 'PCX_FORBIDDEN', 'this command needs an approval and approvals are not enabled on this gateway', { action: 'deny', ruleId: hold?.ruleId ?? 'approvals.disabled' });
      allow = await deps.approvals.admit({ ctx, hold, approvalId: input.approvalId ?? '', holdMs: input.holdMs ?? 0, publish, deny: (code, message, v) => deny(ctx, code, message, v) });
    } else {
      allow = { action: 'allow', ruleId: verdict.rule ?? '' };
    }
    // ── end approvals
    await publishRequest(conn.config, ctx, allow);
    return run(conn, ctx, allow, input.params, subjects);
  }

  async function publishRequest(config: ConnectionConfig, ctx: EventContext, verdict: EventVerdict): Promise<void> {
    const record = encoder.request(ctx, verdict, now());
    if (config.audit !== 'strict') {
      deps.publisher.publish(deps.eventsTopic, record);
      return;
    }
    try {
      await deps.publisher.publishAcked(deps.eventsTopic, record, deps.auditTimeoutMs);
    } catch (e) {
      metrics.auditRefused.inc({ connection: config.name });
      // The REQUEST stays queued for later delivery; this RESPONSE closes it in the audit
      // trail, so nobody reads an allowed command without an outcome as one that ran.
      publishResponse(ctx, verdict, { rows: 0, bytes: 0, durationMs: 0, errorCode: 'PCX_AUDIT_UNAVAILABLE', payload: errorPayload('PCX_AUDIT_UNAVAILABLE', 'not run: audit not acknowledged'), payloadTruncated: false });
      logger.warn({ request_id: ctx.requestId, connection: config.name, code: isPcxError(e) ? e.code : 'PCX_AUDIT_UNAVAILABLE' }, 'strict audit: REQUEST not acknowledged, command not run');
      throw new PcxError('PCX_AUDIT_UNAVAILABLE', `connection ${config.name} requires audited commands and the audit log did not acknowledge this one; it was not run`, { requestId: ctx.requestId });
    }
  }

  async function run(conn: PipelineConnection, ctx: EventContext, verdict: EventVerdict, params: readonly ResultValue[], subjects: readonly string[]): Promise<ExecOutput> {
    const t0 = performance.now();
    let result: ResultSet;
    const flight = startFlight(subjects);
    try {
      result = await conn.target.run(ctx.command, params, { maxRows: deps.limits.maxResultRows, ...(flight ? { signal: flight.signal } : {}) });
    } catch (e) {
      const durationMs = performance.now() - t0;
      const blocked = flight?.blockedBy();
      if (blocked) throw endedByDecision(ctx, blocked, durationMs);
      const err = targetFailure(conn, ctx, e);
      const errorCode = typeof err.context['sqlstate'] === 'string' ? err.context['sqlstate'] : err.code;
      // The caller may see the message as is; the event and the log keep it redacted.
      const recorded = redactSensitive(err.message);
      publishResponse(ctx, verdict, { rows: 0, bytes: 0, durationMs, errorCode, payload: errorPayload(err.code, recorded), payloadTruncated: false });
      logger.warn({ request_id: ctx.requestId, session_id: ctx.sessionId, connection: conn.config.name, code: err.code, error_code: errorCode, reason: recorded }, 'target refused command');
      throw new PcxError(err.code, err.message, { ...err.context, requestId: ctx.requestId });
    } finally {
      flight?.done();
    }
    const durationMs = performance.now() - t0;
    // Masked row by row before anything is answered or copied into the event.
    const shown = deps.masking?.mask(conn.config.name, ctx.command, ctx.facts, ctx.identity, result);
    if (shown) result = shown.result;
    const m = maskedEvent(ctx, verdict, shown);
    const payload = capPayload(shown?.recorded ?? result, maxPayloadBytes);
    publishResponse(m.ctx, m.verdict, { rows: result.rowCount, bytes: payload.bytes, durationMs, errorCode: '', payload: payload.text, payloadTruncated: payload.truncated, ...m.response });
    return { requestId: ctx.requestId, sessionId: ctx.sessionId, result, durationMs };
  }

  // ── in-flight commands and block decisions (src/exec/in-flight.ts)
  function startFlight(subjects: readonly string[]): Flight | undefined {
    if (!deps.inFlight) return undefined;
    const flight = deps.inFlight.start(subjects);
    // A block applied between the decision check and now would otherwise miss this command.
    const late = deps.decisions.isBlocked(subjects, now());
    if (late) flight.abort(late);
    return flight;
  }

  function endedByDecision(ctx: EventContext, d: Decision, durationMs: number): PcxError {
    const reason = blockReason(d);
    const verdict: EventVerdict = { action: 'blocked_by_decision', code: 'PCX_BLOCKED_BY_DECISION', ruleId: `decision:${d.source}`, reason, decisionId: d.decisionId };
    publishResponse(ctx, verdict, { rows: 0, bytes: 0, durationMs, errorCode: 'PCX_BLOCKED_BY_DECISION', payload: errorPayload('PCX_BLOCKED_BY_DECISION', reason), payloadTruncated: false });
    logger.info({ request_id: ctx.requestId, session_id: ctx.sessionId, connection: ctx.connection.name, subject: ctx.identity.subject, decision: d.decisionId }, 'running command ended by a block decision');
    return new PcxError('PCX_BLOCKED_BY_DECISION', `${reason} (the running command was cancelled)`, { requestId: ctx.requestId });
  }

  /** A target failure as the caller may see it: a PcxError, its message masked like a cell on masked connections. */
  function targetFailure(conn: PipelineConnection, ctx: EventContext, e: unknown): PcxError {
    const err = isPcxError(e) ? e : new PcxError('PCX_TARGET_ERROR', `target ${conn.config.name} failed`, { connection: conn.config.name });
    if (!deps.masking || err.code !== 'PCX_TARGET_ERROR') return err;
    const message = deps.masking.maskMessage(conn.config.name, err.message, ctx.identity);
    return message === err.message ? err : new PcxError(err.code, message, err.context);
  }
  // ── end in-flight

  async function listConnections(headers: CallHeaders): Promise<ConnectionInfo[]> {
    const identity: Identity = await deps.authenticator.authenticate(headers);
    const out: ConnectionInfo[] = [];
    for (const { config } of deps.connections.values()) {
      const access = accessFor(identity, config.grants);
      if (access) out.push({ name: config.name, kind: config.kind, access });
    }
    return out;
  }

  return { exec, listConnections };
}

/** The declared destination, normalised; a malformed one is refused like a malformed command, before anything runs. */
function validDestination(input: ExecInput): string {
  const d = declaredDestination(input.destination, input.headers[DESTINATION_HEADER]);
  if (!d.ok) throw new PcxError('PCX_BAD_REQUEST', d.reason, { field: input.destination ? 'destination' : DESTINATION_HEADER });
  return d.destination;
}

function unknownConnection(name: string): ConnectionFacts {
  // The name the caller asked for, capped: it is the caller's word, not a configured name.
  return { name: name.slice(0, 128), kind: 'unknown', targetHost: '', targetDb: '' };
}

/** portcullis.events: key = identity subject, value = AccessEvent protobuf. */
export function eventRecord(event: IAccessEvent): EncodedEvent {
  return { key: event.identity?.subject ?? '', value: encodeEvent(event), timestamp: Number(event.time ?? Date.now()) };
}

