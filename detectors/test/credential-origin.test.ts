import { describe, it, expect } from 'vitest';
import { Phase } from '@portcullis/proto';
import { createCredentialOriginScorer, type CredentialOriginSettings, type CredentialOriginState, type Finding, type Scorer } from '../src/index.js';
import { accessEvent, ORIGIN_A, ORIGIN_B, T0, MINUTE, type EventSpec } from './fixtures/events.js';

const settings: CredentialOriginSettings = {
  maturityEvents: 50,
  maturityMs: 0,
  originTtlMs: 30 * 86_400_000,
  maxOriginsPerCredential: 16,
  alertScore: 0.5,
  block: true,
  blockTtlMs: 3_600_000,
};

function run(scorer: Scorer<CredentialOriginState>, specs: EventSpec[], state = scorer.init()): { state: CredentialOriginState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const s of specs) {
    const r = scorer.score(state, accessEvent(s));
    state = r.state;
    findings.push(...r.findings);
  }
  return { state, findings };
}

const fromA = (n: number, start = T0): EventSpec[] => Array.from({ length: n }, (_, i) => ({ credentialId: 'tok_a', time: start + i * MINUTE, ...ORIGIN_A }));

describe('credential-origin scorer', () => {
  it('never alerts while the baseline is immature (too few uses)', () => {
    const scorer = createCredentialOriginScorer(settings);
    const { findings } = run(scorer, [...fromA(49), { credentialId: 'tok_a', time: T0 + 50 * MINUTE, ...ORIGIN_B }]);
    expect(findings).toEqual([]);
  });

  it('never alerts while the baseline is immature (too young)', () => {
    const scorer = createCredentialOriginScorer({ ...settings, maturityMs: 7 * 86_400_000 });
    const { findings } = run(scorer, [...fromA(200), { credentialId: 'tok_a', time: T0 + 201 * MINUTE, ...ORIGIN_B }]);
    expect(findings).toEqual([]);
  });

  it('alerts on a new origin once mature, with a block for the credential', () => {
    const scorer = createCredentialOriginScorer(settings);
    const last = { credentialId: 'tok_a', time: T0 + 60 * MINUTE, eventId: 'evt-new-origin', ...ORIGIN_B };
    const { findings } = run(scorer, [...fromA(60), last]);
    expect(findings).toHaveLength(1);
    const f = findings[0] as Finding;
    expect(f.subject).toEqual({ kind: 'credential', value: 'tok_a' });
    expect(f.eventIds).toEqual(['evt-new-origin']);
    expect(f.score).toBeCloseTo(1 - 1 / 62, 10);
    expect(f.severity).toBe('high');
    expect(f.block).toEqual({ subject: { kind: 'credential', value: 'tok_a' }, ttlMs: 3_600_000, reason: expect.stringContaining('new origin') });
    expect(f.details).toMatchObject({ known_origins: 1, baseline_uses: 60, origin: { peer_ip: ORIGIN_B.ip, declared_host: 'laptop' } });
  });

  it('raises no block when blocking is off', () => {
    const scorer = createCredentialOriginScorer({ ...settings, block: false });
    const { findings } = run(scorer, [...fromA(60), { credentialId: 'tok_a', time: T0 + 61 * MINUTE, ...ORIGIN_B }]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.block).toBeUndefined();
  });

  it('never alerts on the same origin, whatever the peer port', () => {
    const scorer = createCredentialOriginScorer(settings);
    const specs = Array.from({ length: 500 }, (_, i) => ({ credentialId: 'tok_a', time: T0 + i * MINUTE, port: 1000 + i, ...ORIGIN_A }));
    const { state, findings } = run(scorer, specs);
    expect(findings).toEqual([]);
    expect(state.origins).toHaveLength(1);
    expect(state.origins[0]?.count).toBe(500);
  });

  it('counts only REQUEST events', () => {
    const scorer = createCredentialOriginScorer(settings);
    const base = run(scorer, fromA(60)).state;
    const response = scorer.score(base, accessEvent({ credentialId: 'tok_a', time: T0 + 61 * MINUTE, phase: Phase.RESPONSE, ...ORIGIN_B }));
    expect(response.findings).toEqual([]);
    expect(response.state).toBe(base);
  });

  it('scores a new origin lower for a credential that habitually roams', () => {
    const scorer = createCredentialOriginScorer({ ...settings, maxOriginsPerCredential: 256, alertScore: 0 });
    const pinned = run(scorer, [...fromA(60), { credentialId: 'tok_a', time: T0 + 61 * MINUTE, ...ORIGIN_B }]).findings;
    // 30 uses from A, then 30 from 30 distinct origins: half its uses were first sightings.
    const roaming: EventSpec[] = [...fromA(30), ...Array.from({ length: 30 }, (_, i) => ({ credentialId: 'tok_a', time: T0 + (31 + i) * MINUTE, ip: `10.1.0.${i}`, host: `h${i}`, container: `c${i}` }))];
    const roamed = run(scorer, [...roaming, { credentialId: 'tok_a', time: T0 + 70 * MINUTE, ...ORIGIN_B }]).findings;
    const pinnedScore = pinned[0]?.score ?? NaN;
    const roamedScore = roamed.at(-1)?.score ?? NaN;
    expect(roamedScore).toBeLessThan(pinnedScore);
    expect(roamedScore).toBeCloseTo(1 - 31 / 62, 10);
    // At the default alert score the roaming credential's new origin raises nothing.
    const quiet = run(createCredentialOriginScorer({ ...settings, maxOriginsPerCredential: 256, alertScore: 0.6 }), [...roaming, { credentialId: 'tok_a', time: T0 + 70 * MINUTE, ...ORIGIN_B }]);
    expect(quiet.findings).toEqual([]);
  });

  it('each alerted new origin lowers the score of the next one', () => {
    const scorer = createCredentialOriginScorer(settings);
    const { findings } = run(scorer, [
      ...fromA(60),
      { credentialId: 'tok_a', time: T0 + 61 * MINUTE, ip: '198.51.100.1' },
      { credentialId: 'tok_a', time: T0 + 62 * MINUTE, ip: '198.51.100.2' },
    ]);
    expect(findings).toHaveLength(2);
    expect(findings[1]?.score).toBeLessThan(findings[0]?.score ?? 0);
  });

  it('forgets origins not seen for originTtlMs, and its baseline with them', () => {
    const ttl = 86_400_000;
    const scorer = createCredentialOriginScorer({ ...settings, originTtlMs: ttl });
    const base = run(scorer, fromA(60)).state;
    const later = T0 + 60 * MINUTE + ttl + 1;
    // B two days on: A is forgotten, the baseline is empty again, so nothing to compare with.
    const r = scorer.score(base, accessEvent({ credentialId: 'tok_a', time: later, ...ORIGIN_B }));
    expect(r.findings).toEqual([]);
    expect(r.state.origins.map((o) => o.origin)).toEqual([`${ORIGIN_B.ip}|${ORIGIN_B.host}|`]);
    // evict() does the same for a credential that stays silent.
    expect(scorer.evict?.(base, later)).toBeUndefined();
    expect(scorer.evict?.(base, T0 + 61 * MINUTE)).toBe(base);
  });

  it('holds the cap on origins per credential, evicting the least recently seen', () => {
    const scorer = createCredentialOriginScorer({ ...settings, maxOriginsPerCredential: 4 });
    const specs = Array.from({ length: 10 }, (_, i) => ({ credentialId: 'tok_a', time: T0 + i * MINUTE, ip: `10.0.1.${i}` }));
    const { state } = run(scorer, specs);
    expect(state.origins).toHaveLength(4);
    expect(state.origins.map((o) => o.origin.split('|')[0])).toEqual(['10.0.1.6', '10.0.1.7', '10.0.1.8', '10.0.1.9']);
  });

  it('is deterministic, and its state survives serialisation', () => {
    const specs: EventSpec[] = [...fromA(60), { credentialId: 'tok_a', time: T0 + 61 * MINUTE, eventId: 'evt-x', ...ORIGIN_B }];
    const a = run(createCredentialOriginScorer(settings), specs);
    const b = run(createCredentialOriginScorer(settings), specs);
    expect(a.findings).toEqual(b.findings);
    expect(a.state).toEqual(b.state);
    const scorer = createCredentialOriginScorer(settings);
    const copy = scorer.deserialize(scorer.serialize(a.state));
    expect(copy).toEqual(a.state);
    expect(scorer.sizeOf?.(a.state)).toBeGreaterThan(0);
  });

  it('keeps caller-declared fields from forging another origin tuple', () => {
    const scorer = createCredentialOriginScorer(settings);
    const forged = run(scorer, [...fromA(60), { credentialId: 'tok_a', time: T0 + 61 * MINUTE, ip: ORIGIN_A.ip, host: `${ORIGIN_A.host}|${ORIGIN_A.container}`, container: '' }]);
    expect(forged.findings).toHaveLength(1);
  });

  it('ignores events without a credential', () => {
    const scorer = createCredentialOriginScorer(settings);
    expect(scorer.keyOf(accessEvent({ credentialId: '', time: T0 }))).toBeUndefined();
    expect(scorer.keyOf(accessEvent({ credentialId: 'tok_z', time: T0 }))).toBe('tok_z');
  });
});
