import { describe, it, expect } from 'vitest';
import { isPcxError } from '@portcullis/common';
import { AccessEvent, DecisionEffect, SubjectKind, decodeEvent, encodeEvent } from '@portcullis/proto';
import { pb } from '@portcullis/proto';
import { alertToRow, approvalToRow, decisionToRow, eventToRow, EVENT_COLUMNS, TABLE_COLUMNS } from '../src/index.js';
import { fullEvent, ocsfFinding, T0 } from './fixtures/events.js';

describe('eventToRow', () => {
  it('flattens every field of a decoded event, enums as names', () => {
    const e = fullEvent();
    const row = eventToRow(decodeEvent(encodeEvent(e)));
    expect(row).toMatchObject({
      event_id: e.eventId,
      time: T0 + 123,
      phase: 'RESPONSE',
      environment: 'prod',
      subject: 'agent:planner',
      identity_kind: 'agent',
      groups: ['etl', 'readers'],
      credential_id: 'tok_ab12',
      on_behalf_of: 'alice',
      peer_port: 51234,
      connection: 'billing',
      connection_kind: 'postgres',
      tables: ['cards'],
      risk_tags: ['bulk_read'],
      rows: 1200,
      bytes: 64000,
      duration_ms: 12.5,
      pii: { pan: 1200, email: 3 },
      masked_fields: ['cards.pan'],
      action: 'MASKED',
      rule_id: 'mask-pan',
      payload: '[{"pan":"****"}]',
      payload_truncated: true,
    });
    expect(Object.keys(row).sort()).toEqual([...EVENT_COLUMNS].sort());
  });

  it('fills absent sub-messages with empty values', () => {
    const row = eventToRow(AccessEvent.create({ eventId: 'x', time: 5 }));
    expect(row).toMatchObject({ phase: '', subject: '', groups: [], pii: {}, action: '', rows: 0, payload: '' });
  });

  it('refuses an event without id or time', () => {
    expect(() => eventToRow(AccessEvent.create({ time: 5 }))).toThrow(/event_id/);
    try {
      eventToRow(AccessEvent.create({ eventId: 'x' }));
      expect.unreachable();
    } catch (e) {
      expect(isPcxError(e) && e.code).toBe('PCX_BAD_REQUEST');
    }
  });
});

describe('alertToRow', () => {
  it('maps an OCSF Detection Finding and keeps the raw text', () => {
    const text = JSON.stringify(ocsfFinding('al-1'));
    expect(alertToRow(text, 'al-1')).toEqual({
      alert_id: 'al-1',
      time: T0 + 1_000,
      updated_at: T0 + 2_000,
      activity: 'Create',
      severity_id: 4,
      severity: 'High',
      title: 'Credential used from a new origin',
      detector: 'credential-origin',
      analytic: 'pcx.credential_origin',
      subject: 'agent:planner',
      credential_id: 'tok_ab12',
      risk_score: 87.5,
      confidence: 80,
      status: 'New',
      evidence_event_ids: ['e1', 'e2'],
      raw: text,
    });
  });

  it('falls back to the key and to time when the finding lacks uid and modified_time', () => {
    const f = ocsfFinding('', { finding_info: { title: 't' }, severity: 'Critical', status: 'Resolved' });
    const row = alertToRow(JSON.stringify(f), 'key-9');
    expect(row).toMatchObject({ alert_id: 'key-9', updated_at: row.time, severity: 'Critical', status: 'Resolved' });
  });

  it('refuses non-JSON, other classes and findings without id', () => {
    expect(() => alertToRow('{nope', 'k')).toThrow(/not JSON/);
    expect(() => alertToRow(JSON.stringify(ocsfFinding('a', { class_uid: 3002 })), 'k')).toThrow(/Detection Finding/);
    expect(() => alertToRow(JSON.stringify(ocsfFinding('')), null)).toThrow(/uid/);
  });
});

describe('decisionToRow', () => {
  const at = { topic: 'portcullis.decisions', partition: 2, offset: '41', timestamp: 1_760_000_005_000 };

  it('maps a block', () => {
    const row = decisionToRow(
      'credential:tok_ab12',
      { decisionId: 'd1', subject: 'credential:tok_ab12', subjectKind: SubjectKind.SUBJECT_CREDENTIAL, subjectValue: 'tok_ab12', effect: DecisionEffect.BLOCK, reason: 'new origin', source: 'credential-origin', alertId: 'al-1', createdAt: 1_760_000_004_000, expiresAt: 0, environment: 'prod' },
      at,
    );
    expect(row).toEqual({
      decision_id: 'd1',
      subject: 'credential:tok_ab12',
      subject_kind: 'SUBJECT_CREDENTIAL',
      subject_value: 'tok_ab12',
      effect: 'BLOCK',
      reason: 'new origin',
      source: 'credential-origin',
      alert_id: 'al-1',
      created_at: 1_760_000_004_000,
      expires_at: null,
      environment: 'prod',
      lifted: false,
      recorded_at: at.timestamp,
      kafka_topic: 'portcullis.decisions',
      kafka_partition: 2,
      kafka_offset: '41',
    });
  });

  it('maps a tombstone to a lift of the keyed subject', () => {
    expect(decisionToRow('credential:tok_ab12', null, at)).toMatchObject({ lifted: true, subject: 'credential:tok_ab12', subject_kind: 'credential', subject_value: 'tok_ab12', decision_id: '', created_at: at.timestamp });
    expect(() => decisionToRow(null, null, at)).toThrow(/key/);
  });
});

describe('approvalToRow', () => {
  const state = (o: Parameters<typeof pb.ApprovalState.encode>[0]): Uint8Array => pb.ApprovalState.encode(o).finish();
  it('maps an ApprovalState: id from the request, else the key; latest state by updated_at', () => {
    const row = approvalToRow(state({ request: { approvalId: 'ap1', connection: 'demo', requester: 'agent:a' }, status: pb.ApprovalStatus.APPROVAL_STATUS_APPROVED, updatedAt: 7 }), 'k', 9);
    expect(row).toMatchObject({ approval_id: 'ap1', status: 'approved', time: 7 });
    expect(JSON.parse(row.raw)).toMatchObject({ request: { approvalId: 'ap1', connection: 'demo' }, status: 'APPROVAL_STATUS_APPROVED' });
    expect(approvalToRow(state({ status: pb.ApprovalStatus.APPROVAL_STATUS_PENDING }), 'ap2', 9)).toMatchObject({ approval_id: 'ap2', status: 'pending', time: 9 });
    expect(() => approvalToRow(state({ status: 1 }), null, 9)).toThrow(/no id/);
    expect(() => approvalToRow(Buffer.from('{"not":"protobuf"}'), 'k', 9)).toThrow(/ApprovalState/);
  });
});

describe('TABLE_COLUMNS', () => {
  it('names every field each mapper produces, once', () => {
    const at = { topic: 't', partition: 0, offset: '1', timestamp: 1 };
    const samples = {
      events: eventToRow(fullEvent()),
      alerts: alertToRow(JSON.stringify(ocsfFinding('a')), 'a'),
      decisions: decisionToRow('credential:x', null, at),
      approvals: approvalToRow(pb.ApprovalState.encode({ request: { approvalId: 'x' } }).finish(), null, 1),
    };
    for (const [table, row] of Object.entries(samples)) {
      const columns = TABLE_COLUMNS[table as keyof typeof TABLE_COLUMNS];
      expect(new Set(columns).size).toBe(columns.length);
      expect([...columns].sort()).toEqual(Object.keys(row).sort());
    }
  });
});
