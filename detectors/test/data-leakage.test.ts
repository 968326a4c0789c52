import { describe, it, expect } from 'vitest';
import type { IAccessEvent } from '@portcullis/proto';
import { createDataLeakageScorer, DetectorCore, leakageKey, type DataLeakageSettings, type DataLeakageState, type Finding, type Scorer } from '../src/index.js';
import { encodeEvent } from '@portcullis/proto';
import { prng, gaussian, pair, T0, MINUTE, HOUR, DAY } from './fixtures/agent-traffic.js';

const settings: DataLeakageSettings = {
  halfLifeMs: 14 * DAY,
  maturityResponses: 30,
  newDestinationResponses: 20,
  newDestinationMs: DAY,
  sensitivePii: ['card', 'iban', 'ssn'],
  allowedDestinations: [],
  allowedDestinationsByAgent: {},
  bytesZThreshold: 4,
  piiZThreshold: 4,
  minStd: 0.25,
  cooldownMs: 10 * MINUTE,
  maxLatenessMs: 5 * MINUTE,
  dedupeWindow: 32,
  idleTtlMs: 30 * DAY,
  block: true,
  blockTtlMs: HOUR,
};

/** Scores events through per-key states, as the runtime would. */
function run(scorer: Scorer<DataLeakageState>, events: readonly IAccessEvent[], states = new Map<string, DataLeakageState>()): { states: Map<string, DataLeakageState>; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const key = scorer.keyOf(e);
    if (key === undefined) continue;
    const r = scorer.score(states.get(key) ?? scorer.init(), e);
    states.set(key, r.state);
    findings.push(...r.findings);
  }
  return { states, findings };
}

/**
 * An agent's benign responses over `days`: most go to its usual destinations with
 * log-normal bytes and a few emails/phones; a billing agent also sends cards to its own
 * long-standing `billing` destination.
 */
function benign(rand: () => number, agent: string, n: number, days: number, billing: boolean): IAccessEvent[] {
  const dests = billing ? ['billing', 'crm'] : ['crm', 'reports'];
  const scale = 2_000 + rand() * 20_000;
  const out: IAccessEvent[] = [];
  for (let i = 0; i < n; i++) {
    const t = T0 + Math.floor((i / n) * days * DAY);
    const destination = dests[rand() < 0.7 ? 0 : 1] as string;
    const bytes = Math.round(scale * Math.exp(0.6 * gaussian(rand)));
    const pii: Record<string, number> = { email: Math.floor(rand() * 4) };
    if (billing && destination === 'billing' && t > T0 + 2 * DAY) pii.card = 1 + Math.floor(rand() * 3);
    out.push(pair(agent, t, { tables: ['customers'] }, { rows: 10, bytes, pii, destination }).response);
  }
  return out;
}

describe('data-leakage scorer', () => {
  it('catches cards sent to a new destination for every agent (critical, block), with no benign findings', () => {
    const scorer = createDataLeakageScorer(settings);
    const rand = prng(51);
    let responses = 0;
    let fp = 0;
    let caught = 0;
    const agents = 40;
    for (let a = 0; a < agents; a++) {
      const agent = `agent:${a}`;
      const traffic = benign(rand, agent, 800, 10, a % 2 === 0);
      const { states, findings } = run(scorer, traffic);
      responses += traffic.length;
      fp += findings.length;
      const t = T0 + 10 * DAY + HOUR;
      const exfil = pair(agent, t, { tables: ['customers'] }, { rows: 200, bytes: 60_000, pii: { card: 150, email: 200 }, destination: 'paste.example' }).response;
      const r = run(scorer, [exfil], states);
      const f = r.findings[0];
      if (f?.severity === 'critical' && f.block?.subject.value === agent) caught += 1;
    }
    expect(caught).toBe(agents);
    expect(fp / responses).toBeLessThan(0.001);
  });

  it('shapes the critical finding: subject, block ttl, evidence, key', () => {
    const scorer = createDataLeakageScorer(settings);
    const e = pair('agent:x', T0, {}, { bytes: 500, pii: { ssn: 3 }, destination: 'paste.example' }).response;
    const { findings } = run(scorer, [e]);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({
      detector: 'data-leakage',
      key: leakageKey('agent:x', 'paste.example'),
      severity: 'critical',
      subject: { kind: 'identity', value: 'agent:x' },
      eventIds: [e.eventId],
      block: { subject: { kind: 'identity', value: 'agent:x' }, ttlMs: HOUR },
      details: { destination: 'paste.example', sensitive_records: { ssn: 3 }, new_destination: true },
    });
  });

  it('does not call an undeclared destination new: a first read of PII with none declared is not critical', () => {
    const scorer = createDataLeakageScorer(settings);
    const e = pair('agent:y', T0, {}, { bytes: 500, pii: { ssn: 3, card: 2 }, destination: '' }).response;
    expect(run(scorer, [e]).findings).toHaveLength(0);
    // An allowlist still applies to it: 'unknown' is not on the list.
    const listed = createDataLeakageScorer({ ...settings, allowedDestinations: ['billing'] });
    expect(run(listed, [e]).findings[0]).toMatchObject({ severity: 'critical', details: { destination: 'unknown' } });
  });

  it('with an allowlist, sensitive records to a known but unlisted destination are critical, to a listed new one are not', () => {
    const scorer = createDataLeakageScorer({ ...settings, allowedDestinations: ['billing'], allowedDestinationsByAgent: { 'agent:a': ['vault'] } });
    const rand = prng(52);
    const warm = benign(rand, 'agent:a', 400, 10, false); // crm and reports, no cards
    const { states } = run(scorer, warm);
    const t = T0 + 11 * DAY;
    const toCrm = pair('agent:a', t, {}, { bytes: 5_000, pii: { iban: 2 }, destination: 'crm' }).response;
    expect(run(scorer, [toCrm], new Map(states)).findings[0]).toMatchObject({ severity: 'critical', details: { rules: ['sensitive_to_unlisted_destination'] } });
    const toVault = pair('agent:a', t, {}, { bytes: 5_000, pii: { iban: 2 }, destination: 'vault' }).response;
    expect(run(scorer, [toVault], new Map(states)).findings).toEqual([]);
    const otherAgent = pair('agent:b', t, {}, { bytes: 5_000, pii: { iban: 2 }, destination: 'vault' }).response;
    expect(run(scorer, [otherAgent], new Map(states)).findings[0]?.severity).toBe('critical');
  });

  it('raises high (no block) for bytes far above the pair baseline', () => {
    const scorer = createDataLeakageScorer(settings);
    const rand = prng(53);
    const { states } = run(scorer, benign(rand, 'agent:v', 600, 10, false));
    const big = pair('agent:v', T0 + 10 * DAY + MINUTE, {}, { bytes: 50_000_000, pii: { email: 2 }, destination: 'crm' }).response;
    const r = run(scorer, [big], states);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ severity: 'high', details: { rules: ['bytes_above_baseline'] } });
    expect(r.findings[0]?.block).toBeUndefined();
  });

  it('raises one finding per episode, not one per response, but escalates from high to critical', () => {
    const scorer = createDataLeakageScorer(settings);
    const rand = prng(54);
    const { states } = run(scorer, benign(rand, 'agent:c', 600, 10, false));
    const t = T0 + 10 * DAY + MINUTE;
    const bulk = Array.from({ length: 20 }, (_, i) => pair('agent:c', t + i * 10_000, {}, { bytes: 40_000_000, destination: 'crm' }).response);
    const r1 = run(scorer, bulk, states);
    expect(r1.findings.map((f) => f.severity)).toEqual(['high']);
    const cards = pair('agent:c', t + 300_000, {}, { bytes: 40_000_000, pii: { card: 500 }, destination: 'dropbox' }).response;
    const cards2 = pair('agent:c', t + 310_000, {}, { bytes: 40_000_000, pii: { card: 500 }, destination: 'dropbox' }).response;
    const r2 = run(scorer, [cards, cards2], r1.states);
    expect(r2.findings.map((f) => f.severity)).toEqual(['critical']);
  });

  it('does not double-count redelivered responses and ignores stragglers', () => {
    const scorer = createDataLeakageScorer(settings);
    const events = benign(prng(55), 'agent:d', 300, 5, true);
    const once = run(scorer, events).states;
    const twice: IAccessEvent[] = [];
    for (let i = 0; i < events.length; i += 10) twice.push(...events.slice(i, i + 10), ...events.slice(i, i + 10));
    expect(run(scorer, twice).states).toEqual(once);
    const key = leakageKey('agent:d', 'crm');
    const s = once.get(key) as DataLeakageState;
    const straggler = pair('agent:d', s.last - HOUR, {}, { bytes: 1e9, pii: { card: 9 }, destination: 'crm' }).response;
    expect(scorer.score(s, straggler)).toEqual({ state: s, findings: [] });
  });

  it('keeps the same baseline when responses arrive reordered within the lateness bound', () => {
    // Neighbours are ~12 minutes apart here, so the bound is 30.
    const scorer = createDataLeakageScorer({ ...settings, maxLatenessMs: 30 * MINUTE });
    const rand = prng(56);
    const events = benign(rand, 'agent:o', 600, 5, false);
    const shuffled = events.slice();
    for (let i = 0; i + 1 < shuffled.length; i += 2) [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1] as IAccessEvent, shuffled[i] as IAccessEvent];
    const a = run(scorer, events).states.get(leakageKey('agent:o', 'crm')) as DataLeakageState;
    const b = run(scorer, shuffled).states.get(leakageKey('agent:o', 'crm')) as DataLeakageState;
    expect(b.n).toBe(a.n);
    expect(b.bytes.mean).toBeCloseTo(a.bytes.mean, 3);
    expect(Math.sqrt(b.bytes.s / b.bytes.w)).toBeCloseTo(Math.sqrt(a.bytes.s / a.bytes.w), 2);
  });

  it('round-trips its state through serialize/deserialize', () => {
    const scorer = createDataLeakageScorer(settings);
    const { states } = run(scorer, benign(prng(57), 'agent:s', 200, 5, true));
    for (const s of states.values()) expect(scorer.deserialize(scorer.serialize(s))).toEqual(s);
  });

  it('a million distinct destinations stay within the runtime key bound, each pair a constant size', () => {
    const scorer = createDataLeakageScorer(settings);
    const bound = 5_000;
    const core = new DetectorCore([scorer as Scorer<unknown>], { maxKeysPerPartition: bound, productVersion: 'test' });
    core.assign(0);
    const batch = [];
    let alerts = 0;
    let maxSize = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const e = pair('agent:spray', T0 + i * 10, {}, { bytes: 100 + (i % 1000), pii: { email: 1 }, destination: `d-${i}.example` }).response;
      batch.push({ topic: 'portcullis.events', partition: 0, offset: String(i), key: null, value: Buffer.from(encodeEvent(e)), timestamp: 0 });
      if (batch.length === 2_000) {
        alerts += core.process(0, batch).alerts.length;
        batch.length = 0;
      }
    }
    for (const { state } of core.entries(0)) maxSize = Math.max(maxSize, scorer.sizeOf?.(state as DataLeakageState) ?? 0);
    const size = core.stateSize()[0];
    expect(size?.entries).toBe(bound);
    expect(maxSize).toBeLessThan(600);
    expect(alerts).toBe(0); // emails are not sensitive records
  }, 180_000);

  it('forgets a pair idle past its ttl', () => {
    const scorer = createDataLeakageScorer(settings);
    const s = run(scorer, [pair('agent:i', T0, {}, { bytes: 10, destination: 'crm' }).response]).states.get(leakageKey('agent:i', 'crm')) as DataLeakageState;
    expect(scorer.evict?.(s, T0 + DAY)).toBe(s);
    expect(scorer.evict?.(s, T0 + 31 * DAY)).toBeUndefined();
  });

  it('keys escape the separator so agents cannot collide', () => {
    expect(leakageKey('a|b', 'c')).not.toBe(leakageKey('a', 'b|c'));
  });
});
