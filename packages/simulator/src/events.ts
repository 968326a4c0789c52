import { ConnectionKind, IdentityKind, Phase, Action, type IAccessEvent } from '@portcullis/proto';
import type { Agent, OriginSpec } from './fleet.js';
import { uuidV7, type Rand } from './random.js';

/** One statement an agent runs, as the gateway would describe it. */
export interface Statement {
  tables: string[];
  statementType: string;
  isWrite: boolean;
  hasWhere: boolean;
  hasLimit: boolean;
  rows: number;
  bytes: number;
  durationMs: number;
  pii: Record<string, number>;
  destination: string;
}

export interface StatementContext {
  agent: Agent;
  origin: OriginSpec;
  sessionId: string;
  environment: string;
  gatewayId: string;
  /** Overrides the agent's credential (a stolen token is still that credential). */
  credentialId?: string;
}

const FINGERPRINT_SHAPES: Record<string, string> = {
  SELECT: 'SELECT * FROM %s WHERE id = $1',
  INSERT: 'INSERT INTO %s VALUES ($1, $2, $3)',
  UPDATE: 'UPDATE %s SET status = $1 WHERE id = $2',
};

/** The REQUEST and RESPONSE events of one statement at time t (REQUEST), ids drawn from `rand`. */
export function statementEvents(rand: Rand, ctx: StatementContext, t: number, s: Statement, port: number): [IAccessEvent, IAccessEvent] {
  const requestId = uuidV7(rand, t);
  const shape = (FINGERPRINT_SHAPES[s.statementType] ?? 'SELECT * FROM %s').replace('%s', s.tables.join(', '));
  const fingerprint = s.hasWhere ? shape : shape.replace(/ WHERE .*/, '') + (s.hasLimit ? ' LIMIT $1' : '');
  const base: IAccessEvent = {
    requestId,
    sessionId: ctx.sessionId,
    environment: ctx.environment,
    gatewayId: ctx.gatewayId,
    identity: { subject: ctx.agent.subject, kind: IdentityKind.AGENT, groups: [`role:${ctx.agent.role}`], credentialId: ctx.credentialId ?? ctx.agent.credentialId, issuer: 'portcullis' },
    origin: { peerIp: ctx.origin.peerIp, peerPort: port, declaredHost: ctx.origin.declaredHost, containerId: ctx.origin.containerId, process: `${ctx.agent.role}-agent`, userAgent: 'portcullis-sdk/0.1' },
    connection: { name: ctx.agent.connection.name, kind: ConnectionKind.POSTGRES, targetHost: ctx.agent.connection.targetHost, targetDb: ctx.agent.connection.targetDb },
    command: {
      text: fingerprint,
      fingerprint,
      statementType: s.statementType,
      tables: s.tables,
      isWrite: s.isWrite,
      hasWhere: s.hasWhere,
      hasLimit: s.hasLimit,
      riskTags: [],
    },
    verdict: { action: Action.ALLOW },
  };
  const request: IAccessEvent = { ...base, eventId: uuidV7(rand, t), time: t, phase: Phase.REQUEST };
  const done = t + Math.max(1, Math.round(s.durationMs));
  const response: IAccessEvent = {
    ...base,
    eventId: uuidV7(rand, done),
    time: done,
    phase: Phase.RESPONSE,
    response: {
      rows: s.rows,
      bytes: s.bytes,
      durationMs: s.durationMs,
      errorCode: '',
      pii: Object.entries(s.pii)
        .filter(([, n]) => n > 0)
        .map(([detector, count]) => ({ detector, count })),
      maskedFields: [],
      destination: s.destination,
    },
  };
  return [request, response];
}
