import { describe, it, expect } from 'vitest';
import { pb } from '@portcullis/proto';

const Value = pb.Value;
import { toExecResult, valueToCell } from '../src/client/exec-result.js';
import { alertFromOcsf, alertFromRow, alertsSql } from '../src/output/alerts.js';

describe('exec results', () => {
  it('maps Value oneofs to cells, decoded or plain', () => {
    const decoded = Value.decode(Value.encode({ number: 42 }).finish());
    expect(valueToCell(decoded)).toBe(42);
    expect(valueToCell(Value.decode(Value.encode({ text: '' }).finish()))).toBe('');
    expect(valueToCell(Value.decode(Value.encode({ null: true }).finish()))).toBeNull();
    expect(valueToCell({ boolean: false })).toBe(false);
    expect(valueToCell(undefined)).toBeNull();
  });

  it('flattens a response', () => {
    const r = toExecResult({ requestId: 'r', sessionId: 's', columns: [{ name: 'count', type: 'int8' }], rows: [{ values: [{ text: '1000' }] }], rowCount: 1, commandTag: 'SELECT 1', durationMs: 1.5 });
    expect(r).toEqual({ requestId: 'r', sessionId: 's', columns: [{ name: 'count', type: 'int8' }], rows: [['1000']], rowCount: 1, commandTag: 'SELECT 1', durationMs: 1.5 });
  });
});

describe('alerts', () => {
  it('reads an OCSF Detection Finding', () => {
    const a = alertFromOcsf(
      JSON.stringify({
        class_uid: 2004,
        time: Date.UTC(2026, 0, 2, 3, 4, 5),
        severity: 'High',
        risk_score: 87,
        finding_info: { uid: 'a1', title: 'Credential used from a new origin', related_events: [{ uid: 'e1' }, { uid: 'e2' }] },
        actor: { user: { name: 'agent:demo', credential_uid: 'demo-agent' } },
      }),
    );
    expect(a).toMatchObject({ id: 'a1', time: '2026-01-02 03:04:05', severity: 'High', title: 'Credential used from a new origin', subject: 'agent:demo', credential: 'demo-agent', risk: 87, evidence: 2 });
    expect(alertFromOcsf('{"class_uid": 3001}')).toBeUndefined();
    expect(alertFromOcsf('not json')).toBeUndefined();
  });

  it('reads a store row by column name', () => {
    const cols = ['alert_id', 'time', 'severity', 'title', 'subject', 'credential_id', 'risk_score', 'evidence', 'updated_at'];
    expect(alertFromRow(cols, ['a', 't', 'Low', 'x', 's', 'c', 12.5, 3, 'u'])).toEqual({ id: 'a', time: 't', severity: 'Low', title: 'x', subject: 's', credential: 'c', risk: 12.5, evidence: 3, updatedAt: 'u' });
  });

  it('builds the store query with a bounded limit and a quoted cursor', () => {
    expect(alertsSql('portcullis', { limit: 5 })).toMatch(/FROM portcullis\.alerts FINAL\s+ORDER BY/);
    expect(alertsSql('portcullis', { limit: 5 })).toContain('LIMIT 5');
    expect(alertsSql('portcullis', { limit: 5, updatedAfter: "2026-01-01 00:00:00.000'; drop" })).toContain("'2026-01-01 00:00:00.000; drop'");
  });
});
