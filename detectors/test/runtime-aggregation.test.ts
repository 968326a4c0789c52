import { describe, it, expect } from 'vitest';
import { DeadLetter, decodeDecision, encodeEvent, type IAccessEvent } from '@portcullis/proto';
import { riskAggregationSchema } from '@portcullis/common';
import { createRiskAggregator, DetectorCore, EventIdRing, eventIdHash, GatewayClock, RISK_AGGREGATION, type BatchResult, type Finding, type InputRecord, type Scorer, type SeverityName } from '../src/index.js';
import { accessEvent, T0, MINUTE, type EventSpec } from './fixtures/events.js';

const HOUR = 60 * MINUTE;

/**
 * A scorer that turns every REQUEST carrying a command into one finding about its agent,
 * with the severity named in the command text (`low`, `critical` …) and, for `block`, a
 * block on the agent. Its state counts events, so double counting is visible.
 */
function noisy(name = 'noisy'): Scorer<number> {
  return {
    name,
    keyOf: (e) => e.identity?.subject || undefined,
    init: () => 0,
    score: (n, e) => {
      const text = e.command?.text ?? '';
      if (text === 'quiet') return { state: n + 1, findings: [] };
      if (text === 'boom') throw new Error('scorer bug');
      const subject = e.identity?.subject ?? '';
      const severity = (text.split(' ')[0] || 'medium') as SeverityName;
      const f: Finding = {
        detector: name,
        key: subject,
        title: 't',
        description: 'd',
        severity,
        score: 1,
        confidence: 1,
        analytic: 'rule',
        subject: { kind: 'identity', value: subject },
        eventIds: [e.eventId ?? ''],
        firstSeen: e.time ?? 0,
        lastSeen: e.time ?? 0,
        details: {},
      };
      if (text.includes('block')) f.block = { subject: { kind: 'identity', value: subject }, ttlMs: HOUR, reason: 'test' };
      return { state: n + 1, findings: [f] };
    },
    serialize: (n) => Buffer.from(String(n)),
    deserialize: (b) => Number(b.toString()),
  };
}

const aggregator = () => createRiskAggregator(riskAggregationSchema.parse({}));

let offset = 0;
function rec(e: IAccessEvent, partition = 0, at?: number): InputRecord {
  offset += 1;
  return { topic: 'events', partition, offset: String(at ?? offset), key: Buffer.from(e.identity?.subject ?? ''), value: encodeEvent(e), timestamp: T0 };
}
const ev = (s: EventSpec & { gatewayId?: string }): IAccessEvent => ({ ...accessEvent(s), gatewayId: s.gatewayId ?? 'gw-1' });

function newCore(extra: Partial<ConstructorParameters<typeof DetectorCore>[1]> = {}): DetectorCore {
  const core = new DetectorCore([noisy() as Scorer<unknown>], { aggregator: aggregator(), evictIntervalMs: MINUTE, ...extra });
  core.assign(0);
  return core;
}

type Ocsf = { activity_id: number; activity_name: string; status: string; type_uid: number; finding_info: { uid: string; analytic: { name: string }; modified_time?: number } };
const riskAlerts = (...outs: BatchResult[]): Ocsf[] =>
  outs.flatMap((o) => o.alerts.map((a) => JSON.parse(String(a.value)) as Ocsf)).filter((a) => a.finding_info.analytic.name === RISK_AGGREGATION);

function replay(into: DetectorCore, ...outs: BatchResult[]): void {
  for (const out of outs) for (const [store, records] of out.changelog) for (const r of records) into.restore(store, String(r.key), r.value);
}

describe('risk aggregation in the runtime', () => {
  it('20 findings for one agent: one create, then updates of the same alert id, one block', () => {
    const core = newCore();
    const outs = Array.from({ length: 20 }, (_, i) => core.process(0, [rec(ev({ subject: 'agent:x', time: T0 + i * MINUTE, command: 'medium' }))]));
    const risk = riskAlerts(...outs);
    expect(risk.filter((a) => a.activity_id === 1)).toHaveLength(1);
    expect(risk.length).toBeGreaterThan(1);
    expect(risk.length).toBeLessThan(20);
    expect(risk.slice(1).every((a) => a.activity_id === 2 && a.activity_name === 'Update' && a.status === 'In Progress' && a.type_uid === 200402)).toBe(true);
    expect(risk.slice(1).every((a) => typeof a.finding_info.modified_time === 'number')).toBe(true);
    expect(new Set(risk.map((a) => a.finding_info.uid)).size).toBe(1);
    // Every alert record of the episode is keyed by that one id.
    const keys = outs.flatMap((o) => o.alerts.filter((a) => a.headers?.detector === RISK_AGGREGATION).map((a) => String(a.key)));
    expect(new Set(keys)).toEqual(new Set([risk[0]?.finding_info.uid]));
    const decisions = outs.flatMap((o) => o.decisions).map((d) => decodeDecision(d.value ?? Buffer.alloc(0)));
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ subject: 'identity:agent:x', source: RISK_AGGREGATION, alertId: risk[0]?.finding_info.uid });
    expect(core.stateSize().map((s) => s.detector)).toEqual(['noisy', RISK_AGGREGATION]);
  });

  it('a scorer block and the aggregator block on the same agent are one decision', () => {
    const core = newCore();
    const out = core.process(0, [rec(ev({ subject: 'agent:y', time: T0, command: 'critical block' }))]);
    expect(riskAlerts(out)).toHaveLength(1);
    expect(out.decisions).toHaveLength(1);
    expect(decodeDecision(out.decisions[0]?.value ?? Buffer.alloc(0)).source).toBe('noisy');
    // Still in force: a second blocking finding does not publish another decision …
    expect(core.process(0, [rec(ev({ subject: 'agent:y', time: T0 + MINUTE, command: 'critical block' }))]).decisions).toHaveLength(0);
    // … once it has expired (event time), a new one may.
    expect(core.process(0, [rec(ev({ subject: 'agent:y', time: T0 + 2 * HOUR, command: 'critical block' }))]).decisions).toHaveLength(1);
  });

  it('the sweep closes a decayed episode under the same id, and a restart keeps the episode', () => {
    const core = newCore();
    const opened = core.process(0, [rec(ev({ subject: 'agent:z', time: T0, command: 'high' }))]);
    const id = riskAlerts(opened)[0]?.finding_info.uid;
    expect(id).toBeDefined();

    const restarted = newCore();
    replay(restarted, opened);
    // Quiet traffic a day later: the risk has decayed below closeThreshold.
    // (A sweep waits for as many events as there are entities, so replays stay O(1) per event.)
    const later = restarted.process(0, [0, 1, 2].map((i) => rec(ev({ subject: 'agent:other', time: T0 + 24 * HOUR + i, command: 'quiet' }))));
    const closed = riskAlerts(later);
    expect(closed).toHaveLength(1);
    expect(closed[0]).toMatchObject({ activity_id: 3, activity_name: 'Close', status: 'Resolved', finding_info: { uid: id } });
  });
});

describe('runtime bad input', () => {
  it('drops a duplicate event id within a batch and across batches: counted once, alerted once', () => {
    const core = newCore();
    const e = ev({ subject: 'agent:d', time: T0, command: 'low', eventId: 'evt-dup' });
    const first = core.process(0, [rec(e), rec(e)]);
    const second = core.process(0, [rec(e)]);
    expect(first.events + second.events).toBe(1);
    expect(first.duplicates + second.duplicates).toBe(2);
    expect(first.alerts.length + second.alerts.length).toBe(1);
    expect([...core.entries(0)].find((x) => x.detector === 'noisy')?.state).toBe(1);
  });

  it('skips records at or below the offset a restored store applied (crash between changelog and commit)', () => {
    const core = newCore();
    const batch = [rec(ev({ subject: 'agent:o', time: T0, command: 'quiet' }), 0, 100), rec(ev({ subject: 'agent:o', time: T0 + 1, command: 'low' }), 0, 101)];
    const out = core.process(0, batch);
    expect(out.alerts).toHaveLength(1);
    const restarted = newCore();
    replay(restarted, out);
    // The commit never happened: the same records come again, then a new one.
    const again = restarted.process(0, [...batch, rec(ev({ subject: 'agent:o', time: T0 + 2, command: 'quiet' }), 0, 102)]);
    expect(again.duplicates).toBe(2);
    expect(again.events).toBe(1);
    expect(again.alerts).toHaveLength(0);
    expect([...restarted.entries(0)].find((x) => x.detector === 'noisy')?.state).toBe(3);
    // A rollback puts the applied offsets back too, so a retried batch scores again.
    again.rollback();
    expect(restarted.process(0, [rec(ev({ subject: 'agent:o', time: T0 + 2, command: 'quiet' }), 0, 102)]).events).toBe(1);
  });

  it('parks a record that makes a scorer throw and scores the rest', () => {
    const core = newCore();
    const out = core.process(0, [rec(ev({ subject: 'agent:p', time: T0, command: 'boom' })), rec(ev({ subject: 'agent:p', time: T0 + 1, command: 'quiet' }))]);
    expect(out.deadLetters).toHaveLength(1);
    expect(DeadLetter.decode(out.deadLetters[0]?.value ?? Buffer.alloc(0)).reason).toMatch(/scorer noisy failed: scorer bug/);
    expect([...core.entries(0)].find((x) => x.detector === 'noisy')?.state).toBe(1);
  });

  it('keeps the watermark at the slowest sending gateway: a fast clock cannot drag it ahead', () => {
    const core = newCore();
    core.process(0, [rec(ev({ subject: 'a', time: T0, gatewayId: 'gw-ok', command: 'quiet' })), rec(ev({ subject: 'b', time: T0 + 5 * HOUR, gatewayId: 'gw-fast', command: 'quiet' }))]);
    expect(core.watermark(0)).toBe(T0);
    core.process(0, [rec(ev({ subject: 'a', time: T0 + MINUTE, gatewayId: 'gw-ok', command: 'quiet' }))]);
    expect(core.watermark(0)).toBe(T0 + MINUTE);
    // A late event never moves it back.
    core.process(0, [rec(ev({ subject: 'a', time: T0 - HOUR, gatewayId: 'gw-ok', command: 'quiet' }))]);
    expect(core.watermark(0)).toBe(T0 + MINUTE);
  });

  it('forgets a gateway that stopped sending, by arrivals rather than by its clock', () => {
    const clock = new GatewayClock(3);
    clock.observe('gw-stuck', T0);
    clock.observe('gw-live', T0 + HOUR);
    expect(clock.advance()).toBe(T0);
    for (let i = 1; i <= 3; i++) clock.observe('gw-live', T0 + HOUR + i);
    expect(clock.advance()).toBe(T0 + HOUR + 3);
  });

  it('round-trips the event-id ring and keeps it bounded', () => {
    const ring = new EventIdRing(3, 7);
    for (const id of ['a', 'b', 'c', 'd']) ring.add(eventIdHash(id));
    const back = EventIdRing.deserialize(3, ring.serialize());
    expect(back.upTo).toBe(7);
    expect(['a', 'b', 'c', 'd'].map((id) => back.has(eventIdHash(id)))).toEqual([false, true, true, true]);
    expect(eventIdHash('evt-1')).not.toBe(eventIdHash('evt-2'));
  });
});
