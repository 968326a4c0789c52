import { describe, it, expect } from 'vitest';
import { decodeDecision, encodeDecision, SubjectKind, DecisionEffect } from '@portcullis/proto';
import { alertIdOf, createCredentialOriginScorer, decisionOf, toDetectionFinding, type Finding } from '../src/index.js';
import { accessEvent, ORIGIN_A, ORIGIN_B, T0, MINUTE } from './fixtures/events.js';

function newOriginFinding(): { finding: Finding; trigger: ReturnType<typeof accessEvent> } {
  const scorer = createCredentialOriginScorer({ maturityEvents: 5, maturityMs: 0, originTtlMs: 86_400_000, maxOriginsPerCredential: 8, alertScore: 0.5, block: true, blockTtlMs: 600_000 });
  let state = scorer.init();
  for (let i = 0; i < 30; i++) state = scorer.score(state, accessEvent({ credentialId: 'tok_a', time: T0 + i * MINUTE, ...ORIGIN_A })).state;
  const trigger = accessEvent({ credentialId: 'tok_a', time: T0 + 31 * MINUTE, eventId: 'evt-trigger', command: 'SELECT card_number FROM cards', ...ORIGIN_B });
  const { findings } = scorer.score(state, trigger);
  const finding = findings[0];
  if (!finding) throw new Error('expected a finding');
  return { finding, trigger };
}

describe('OCSF Detection Finding', () => {
  it('has the class, the required fields and the evidence event ids', () => {
    const { finding, trigger } = newOriginFinding();
    const alertId = alertIdOf(finding);
    const o = toDetectionFinding(finding, trigger, { alertId, productVersion: '0.1.0' });
    expect(o).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      type_uid: 200401,
      activity_id: 1,
      status_id: 1,
      severity_id: 4,
      severity: 'High',
      time: T0 + 31 * MINUTE,
      metadata: { product: { name: 'Portcullis', vendor_name: 'Portcullis', version: '0.1.0' }, version: '1.3.0' },
      finding_info: {
        uid: alertId,
        title: 'Credential used from a new origin',
        analytic: { name: 'credential-origin', uid: 'credential-origin', type_id: 2, type: 'Behavioral' },
        types: ['credential-origin'],
        first_seen_time: T0 + 31 * MINUTE,
        last_seen_time: T0 + 31 * MINUTE,
      },
      actor: { user: { name: 'agent:planner', uid: 'agent:planner', credential_uid: 'tok_a' }, session: { uid: 'sess-1' } },
      src_endpoint: { ip: ORIGIN_B.ip, hostname: ORIGIN_B.host },
      resources: [{ name: 'demo', type: 'postgres' }, { name: 'customers', type: 'table', uid: 'demo/customers', group: { name: 'demo' } }],
      evidences: [{ data: { event_ids: ['evt-trigger'] } }],
      unmapped: { credential_id: 'tok_a', known_origins: 1 },
    });
    expect(String(o.finding_info.desc)).toContain('tok_a');
    expect(o.risk_score).toBeGreaterThanOrEqual(90);
    expect(o.confidence_id).toBeGreaterThanOrEqual(1);
    expect(typeof o.confidence_score).toBe('number');
  });

  it('never carries the command text or the response payload', () => {
    const { finding, trigger } = newOriginFinding();
    const json = JSON.stringify(toDetectionFinding(finding, trigger, { alertId: alertIdOf(finding), productVersion: '0.1.0' }));
    expect(json).not.toContain('card_number');
    expect(json).not.toContain('secret-payload-rows');
    expect(json).not.toContain(Buffer.from('secret-payload-rows').toString('base64'));
  });

  it('derives the same alert id for the same finding, another for another event', () => {
    const { finding } = newOriginFinding();
    expect(alertIdOf(finding)).toBe(alertIdOf({ ...finding }));
    expect(alertIdOf({ ...finding, eventIds: ['other'] })).not.toBe(alertIdOf(finding));
    expect(alertIdOf(finding)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('turns a block into a Decision in event time', () => {
    const { finding } = newOriginFinding();
    const alertId = alertIdOf(finding);
    const d = decodeDecision(encodeDecision(decisionOf(finding, alertId, 'dev') ?? {}));
    expect(d).toMatchObject({
      subject: 'credential:tok_a',
      subjectKind: SubjectKind.SUBJECT_CREDENTIAL,
      subjectValue: 'tok_a',
      effect: DecisionEffect.BLOCK,
      source: 'credential-origin',
      alertId,
      createdAt: T0 + 31 * MINUTE,
      expiresAt: T0 + 31 * MINUTE + 600_000,
      environment: 'dev',
    });
    expect(decisionOf(finding, alertId, 'dev')?.decisionId).toBe(d.decisionId);
    expect(decisionOf({ ...finding, block: undefined }, alertId, 'dev')).toBeUndefined();
  });
});
