import { describe, it, expect } from 'vitest';
import { Action, ConnectionKind, IdentityKind, Phase, decodeEvent } from '@portcullis/proto';
import { EventEncoder, requestEvent, responseEvent, type EventContext } from '../src/events/event-builder.js';
import { capPayload } from '../src/events/payload.js';
import { eventRecord } from '../src/exec/pipeline.js';
import { SqlParserAnalyzer } from '../src/analysis/sql-parser-analyzer.js';

const analyzer = new SqlParserAnalyzer();
const ctx: EventContext = {
  requestId: 'r1',
  sessionId: 's1',
  environment: 'prod',
  gatewayId: 'gw-1',
  identity: { subject: 'agent-a', kind: 'agent', groups: ['etl'], credentialId: 'tok1', issuer: 'portcullis:service-token' },
  origin: { peerIp: '10.0.0.1', peerPort: 5000, declaredHost: 'h', containerId: 'c', process: 'p', userAgent: 'ua', agentConfigHash: 'cfg' },
  connection: { name: 'orders', kind: 'postgres', targetHost: 'db:5432', targetDb: 'orders' },
  command: "SELECT * FROM users WHERE id = 42 AND name = 'bob'",
  auditCommand: "SELECT * FROM users WHERE id = 42 AND name = 'bob'",
  facts: analyzer.analyze("SELECT * FROM users WHERE id = 42 AND name = 'bob'"),
};

describe('event building', () => {
  it('REQUEST carries ids, identity, origin, connection, command facts and verdict, and survives the wire', () => {
    const e = decodeEvent(eventRecord(requestEvent(ctx, { action: 'deny', code: 'PCX_FORBIDDEN', ruleId: 'grants.read-only' }, 1234)).value);
    expect(e.phase).toBe(Phase.REQUEST);
    expect(e.time).toBe(1234);
    expect(e.eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(e).toMatchObject({ requestId: 'r1', sessionId: 's1', environment: 'prod', gatewayId: 'gw-1' });
    expect(e.identity).toMatchObject({ subject: 'agent-a', kind: IdentityKind.AGENT, groups: ['etl'], credentialId: 'tok1', issuer: 'portcullis:service-token' });
    expect(e.origin).toMatchObject({ peerIp: '10.0.0.1', peerPort: 5000, declaredHost: 'h', containerId: 'c', process: 'p', userAgent: 'ua', agentConfigHash: 'cfg' });
    expect(e.connection).toMatchObject({ name: 'orders', kind: ConnectionKind.POSTGRES, targetHost: 'db:5432', targetDb: 'orders' });
    expect(e.command).toMatchObject({ statementType: 'SELECT', tables: ['users'], isWrite: false, hasWhere: true, hasLimit: false });
    expect(e.command?.fingerprint).toBe('select * from users where id = ? and name = ?');
    expect(e.verdict).toMatchObject({ action: Action.DENY, code: 'PCX_FORBIDDEN', ruleId: 'grants.read-only' });
    expect(e.response).toBeNull();
  });

  it('RESPONSE carries the response facts and the payload', () => {
    const payload = capPayload({ columns: [{ name: 'id', type: 'int4' }], rows: [[1], [2]] }, 1000);
    const e = responseEvent(ctx, { action: 'allow' }, { rows: 2, bytes: payload.bytes, durationMs: 1.5, errorCode: '', payload: payload.text, payloadTruncated: payload.truncated }, 1000, 99);
    expect(e.phase).toBe(Phase.RESPONSE);
    expect(e.response).toMatchObject({ rows: 2, bytes: payload.bytes, durationMs: 1.5, errorCode: '' });
    expect(JSON.parse(Buffer.from(e.payload!).toString())).toEqual({ columns: ['id'], rows: [[1], [2]] });
    expect(e.payloadTruncated).toBe(false);
  });

  it('RESPONSE carries the declared destination (empty when none was declared)', () => {
    const facts = { rows: 0, bytes: 0, durationMs: 0, errorCode: '', payload: '', payloadTruncated: false };
    expect(responseEvent({ ...ctx, destination: 'https://warehouse.example.com' }, { action: 'allow' }, facts, 1000, 1).response?.destination).toBe('https://warehouse.example.com');
    expect(responseEvent(ctx, { action: 'allow' }, facts, 1000, 1).response?.destination).toBe('');
  });

  it('drops a payload still over the cap whole instead of cutting it', () => {
    const e = responseEvent(ctx, { action: 'allow' }, { rows: 0, bytes: 0, durationMs: 0, errorCode: 'X', payload: 'x'.repeat(50), payloadTruncated: false }, 10, 1);
    expect(e.payload).toHaveLength(0);
    expect(e.payloadTruncated).toBe(true);
  });
});

describe('EventEncoder (the hot path: the static part encoded once per caller)', () => {
  const strip = (b: Buffer) => ({ ...decodeEvent(b).toJSON(), eventId: '' });

  it('encodes the same event as requestEvent/responseEvent + encodeEvent, also on a cache hit', () => {
    const encoder = new EventEncoder('prod', 'gw-1');
    for (let i = 0; i < 2; i++) {
      const verdict = { action: 'deny' as const, code: 'PCX_FORBIDDEN', ruleId: 'grants.read-only', reason: `r${i}` };
      const fast = encoder.request(ctx, verdict, 1234 + i);
      expect(fast.key).toBe('agent-a');
      expect(fast.timestamp).toBe(1234 + i);
      expect(strip(fast.value)).toEqual(strip(eventRecord(requestEvent(ctx, verdict, 1234 + i)).value));
      const response = { rows: 2, bytes: 30, durationMs: 1.5, errorCode: '', payload: '{"columns":["id"],"rows":[[1],[2]]}', payloadTruncated: false, pii: { email: 1 }, maskedFields: ['email'] };
      expect(strip(encoder.response(ctx, { action: 'masked' }, response, 1000, 99).value)).toEqual(strip(eventRecord(responseEvent(ctx, { action: 'masked' }, response, 1000, 99)).value));
      expect(strip(encoder.response(ctx, { action: 'allow' }, response, 10, 99).value)).toEqual(strip(eventRecord(responseEvent(ctx, { action: 'allow' }, response, 10, 99)).value));
      const bound = { ...ctx, destination: 's3://exports' };
      expect(strip(encoder.response(bound, { action: 'masked' }, response, 1000, 99).value)).toEqual(strip(eventRecord(responseEvent(bound, { action: 'masked' }, response, 1000, 99)).value));
    }
  });

  it('a context of another environment or gateway is encoded as it says, not from the cache', () => {
    const encoder = new EventEncoder('prod', 'gw-1');
    encoder.request(ctx, { action: 'allow' }, 1);
    const other = { ...ctx, environment: 'staging', gatewayId: 'gw-2' };
    expect(decodeEvent(encoder.request(other, { action: 'allow' }, 2).value)).toMatchObject({ environment: 'staging', gatewayId: 'gw-2' });
  });
});

describe('capPayload', () => {
  const result = { columns: [{ name: 'n', type: 'text' }], rows: Array.from({ length: 100 }, (_, i) => [`row-${i}`]) };

  it('reports the full byte size and keeps valid JSON with whole rows under the cap', () => {
    const full = capPayload(result, 1 << 20);
    expect(full.truncated).toBe(false);
    expect(full.bytes).toBe(Buffer.byteLength(full.text));
    const capped = capPayload(result, 200);
    expect(capped.truncated).toBe(true);
    expect(capped.bytes).toBe(full.bytes);
    expect(Buffer.byteLength(capped.text)).toBeLessThanOrEqual(200);
    const parsed = JSON.parse(capped.text) as { rows: string[][] };
    expect(parsed.rows.length).toBeGreaterThan(0);
    expect(parsed.rows.length).toBeLessThan(100);
    expect(parsed.rows[0]).toEqual(['row-0']);
  });

  it('small and large results, under and over the cap: the whole-result and the row-by-row texts agree', () => {
    const mixed = [1, 'é ünïcode ✓', null, true, 2.5, 'quote " and \\ backslash'];
    for (const n of [0, 1, 3, 64, 65, 200]) {
      const r = { columns: [{ name: 'a', type: 'int4' }, { name: 'b"c', type: 'text' }], rows: Array.from({ length: n }, (_, i) => [i, mixed[i % mixed.length] ?? null]) };
      const full = capPayload(r, 1 << 20);
      expect(full.text).toBe(JSON.stringify({ columns: ['a', 'b"c'], rows: r.rows }));
      expect(full.bytes).toBe(Buffer.byteLength(full.text));
      for (const cap of [full.bytes, full.bytes - 1, 60]) {
        const c = capPayload(r, cap);
        expect(c.bytes).toBe(full.bytes);
        expect(c.truncated).toBe(cap < full.bytes);
        // Not even the header fits (the empty result one byte under its size): no payload.
        if (c.text === '') {
          expect(Buffer.byteLength(JSON.stringify({ columns: ['a', 'b"c'], rows: [] }))).toBeGreaterThan(cap);
          continue;
        }
        const rows = (JSON.parse(c.text) as { rows: unknown[] }).rows;
        expect(rows).toEqual(r.rows.slice(0, rows.length));
        // As many whole rows as fit: one more would not.
        if (rows.length < n) expect(Buffer.byteLength(JSON.stringify({ columns: ['a', 'b"c'], rows: r.rows.slice(0, rows.length + 1) }))).toBeGreaterThan(cap);
      }
    }
  });

  it('gives an empty payload when not even the header fits', () => {
    expect(capPayload(result, 5)).toMatchObject({ text: '', truncated: true });
  });
});
