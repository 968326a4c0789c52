import { describe, it, expect } from 'vitest';
import { encodeDecision, DecisionEffect, SubjectKind } from '@portcullis/proto';
import { DecisionView, blockReason, type DecisionRecord } from '../src/decisions/decision-view.js';

let offset = 0;
function rec(key: string, d: Record<string, unknown> | null, partition = 0, at?: number): DecisionRecord {
  const o = at ?? offset++;
  return {
    partition,
    offset: String(o),
    key: Buffer.from(key),
    value: d === null ? null : encodeDecision({ decisionId: 'd-1', subject: key, subjectKind: SubjectKind.SUBJECT_CREDENTIAL, effect: DecisionEffect.BLOCK, source: 'credential-origin', reason: 'new origin', ...d }),
  };
}

describe('DecisionView', () => {
  const now = 1_700_000_000_000;

  it('blocks a subject with a live decision and names it', () => {
    const v = new DecisionView('prod');
    expect(v.apply(rec('credential:t1', {}))).toBe('set');
    const d = v.isBlocked(['identity:x', 'credential:t1'], now);
    expect(d?.decisionId).toBe('d-1');
    expect(blockReason(d!)).toBe('blocked by decision d-1 from credential-origin on credential:t1: new origin');
    expect(v.isBlocked(['credential:t2'], now)).toBeUndefined();
  });

  it('lifts on a tombstone', () => {
    const v = new DecisionView('prod');
    v.apply(rec('credential:t1', {}));
    expect(v.apply(rec('credential:t1', null))).toBe('lifted');
    expect(v.isBlocked(['credential:t1'], now)).toBeUndefined();
  });

  it('ignores a decision whose expires_at has passed, judged at check time', () => {
    const v = new DecisionView('prod');
    v.apply(rec('identity:a', { expiresAt: now + 1000 }));
    expect(v.isBlocked(['identity:a'], now)).toBeDefined();
    expect(v.isBlocked(['identity:a'], now + 1000)).toBeUndefined();
    expect(v.size(now + 1000)).toBe(0);
    expect(v.prune(now + 1000)).toBe(1);
  });

  it('keeps only decisions for its environment or for every environment', () => {
    const v = new DecisionView('prod');
    v.apply(rec('identity:a', { environment: 'staging' }));
    v.apply(rec('identity:b', { environment: '' }));
    v.apply(rec('identity:c', { environment: 'prod' }));
    expect(v.isBlocked(['identity:a'], now)).toBeUndefined();
    expect(v.isBlocked(['identity:b'], now)).toBeDefined();
    expect(v.isBlocked(['identity:c'], now)).toBeDefined();
  });

  it('a later decision for another environment replaces the earlier one on the same key', () => {
    const v = new DecisionView('prod');
    v.apply(rec('identity:a', {}));
    v.apply(rec('identity:a', { environment: 'staging' }));
    expect(v.isBlocked(['identity:a'], now)).toBeUndefined();
  });

  it('skips records at or below an offset it has applied, per partition', () => {
    const v = new DecisionView('prod');
    v.apply(rec('identity:a', {}, 1, 10));
    v.apply(rec('identity:a', null, 1, 11));
    // The live subscription replays offset 10 after readToEnd saw 11: it must not re-block.
    expect(v.apply(rec('identity:a', {}, 1, 10))).toBe('stale');
    expect(v.isBlocked(['identity:a'], now)).toBeUndefined();
    // Another partition has its own offsets.
    expect(v.apply(rec('identity:b', {}, 2, 0))).toBe('set');
  });

  it('counts undecodable values without throwing', () => {
    const v = new DecisionView('prod');
    expect(v.apply({ partition: 0, offset: '0', key: Buffer.from('identity:a'), value: Buffer.from([0xff, 0xff, 0xff]) })).toBe('undecodable');
    expect(v.isBlocked(['identity:a'], now)).toBeUndefined();
  });
});
