import { describe, it, expect } from 'vitest';
import { encodeEvent, type IAccessEvent } from '@portcullis/proto';
import { parseConfig } from '@portcullis/common';
import { createAggregator, createScorers, DetectorCore, WindowRolledBack, type InputRecord, type OutRecord, type Scorer } from '../src/index.js';
import { encoded, T0, MINUTE, type EventSpec } from './fixtures/events.js';
import { pair } from './fixtures/agent-traffic.js';
import { counterScorer, type Counter } from './fixtures/counter-scorer.js';

/**
 * flush: 'explicit' — the runtime's commit interval. Batches add to an open window; a
 * flush writes each entity the window changed once; a failure anywhere in the window
 * puts the partition back to the last flush, and a replay from there ends in the same
 * state, alerts and changelog as if nothing had failed.
 */

const counter = (name = 'counter'): Scorer<Counter> => counterScorer(name);

function records(specs: EventSpec[], from = 0): InputRecord[] {
  return specs.map((s, i) => ({ topic: 'events', partition: 0, offset: String(from + i), key: null, value: encoded(s), timestamp: T0 }));
}

function states(core: DetectorCore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { detector, key, state } of core.entries(0)) out[`${detector}/${key}`] = structuredClone(state);
  return out;
}

const keysOf = (changelog: Map<string, OutRecord[]>, store: string): string[] => (changelog.get(store) ?? []).map((r) => String(r.key));

function explicitCore(...scorers: Scorer<unknown>[]): DetectorCore {
  const core = new DetectorCore(scorers, { consumer: 'test', flush: 'explicit' });
  core.assign(0);
  return core;
}

/** Restores a fresh core from changelog records, as the runtime does from the compacted topics. */
function restored(scorers: Scorer<unknown>[], changelogs: Array<Map<string, OutRecord[]>>, options: ConstructorParameters<typeof DetectorCore>[1] = {}): DetectorCore {
  const core = new DetectorCore(scorers, { consumer: 'test', flush: 'explicit', ...options });
  core.assign(0);
  for (const changelog of changelogs) for (const [store, recs] of changelog) for (const r of recs) core.restore(store, String(r.key), r.value);
  core.markRestored(0);
  return core;
}

describe('explicit flush windows', () => {
  it('batches add to one window; flush writes each changed entity once with its final state and the last offset', () => {
    const core = explicitCore(counter() as Scorer<unknown>);
    const first = core.process(0, records([{ credentialId: 'a', time: T0 }, { credentialId: 'b', time: T0 + 1 }]));
    expect(first.changelog.size).toBe(0);
    expect(core.hasOpenWindow(0)).toBe(true);
    core.process(0, records([{ credentialId: 'a', time: T0 + 2 }, { credentialId: 'a', time: T0 + 3 }], 2));
    const flushed = core.flush(0);
    expect(flushed?.lastOffset).toBe(3);
    expect(keysOf(flushed?.changelog ?? new Map(), 'counter')).toEqual(['0:a', '0:b', '0/offset']);
    const a = flushed?.changelog.get('counter')?.[0];
    expect((JSON.parse(String(a?.value)) as Counter).n).toBe(3);
    expect(core.hasOpenWindow(0)).toBe(false);
    expect(core.flush(0)).toBeUndefined();
  });

  it('rolls a publish failure back to the last flush, across every batch of the window', () => {
    const core = explicitCore(counter() as Scorer<unknown>);
    core.process(0, records([{ credentialId: 'a', time: T0 }]));
    core.flush(0);
    const atFlush = states(core);
    core.process(0, records([{ credentialId: 'a', time: T0 + 1 }, { credentialId: 'new', time: T0 + 2 }], 1));
    const second = core.process(0, records([{ credentialId: 'a', time: T0 + 3 }], 3));
    expect(states(core)).not.toEqual(atFlush);
    second.rollback();
    expect(states(core)).toEqual(atFlush);
    expect(core.hasOpenWindow(0)).toBe(false);
    // The replay from the last commit (offset 1) scores every record again.
    const replay = core.process(0, records([{ credentialId: 'a', time: T0 + 1 }, { credentialId: 'new', time: T0 + 2 }, { credentialId: 'a', time: T0 + 3 }], 1));
    expect(replay.events).toBe(3);
    expect(states(core)['counter/a']).toMatchObject({ n: 3 });
  });

  it('a failed changelog publish rolls the flushed window back too', () => {
    const core = explicitCore(counter() as Scorer<unknown>);
    core.process(0, records([{ credentialId: 'a', time: T0 }]));
    core.flush(0);
    const atFlush = states(core);
    core.process(0, records([{ credentialId: 'a', time: T0 + 1 }], 1));
    const flushed = core.flush(0);
    flushed?.rollback();
    expect(states(core)).toEqual(atFlush);
  });

  it('a scorer failure in a window opened earlier rolls back to the flush, and the replay parks that pair', () => {
    const core = explicitCore(counter() as Scorer<unknown>);
    const specs: EventSpec[] = [
      { credentialId: 'a', time: T0, eventId: 'e0' },
      { credentialId: 'a', time: T0 + 1, eventId: 'e1' },
      { credentialId: 'a', time: T0 + 2, eventId: 'e2', command: 'boom' },
      { credentialId: 'a', time: T0 + 3, eventId: 'e3' },
    ];
    const all = records(specs);
    core.process(0, all.slice(0, 2));
    expect(() => core.process(0, all.slice(2))).toThrow(WindowRolledBack);
    expect(states(core)).toEqual({});
    const replay = core.process(0, all);
    expect(replay.deadLetters).toHaveLength(1);
    expect(states(core)['counter/a']).toEqual({ n: 3, seen: ['e0', 'e1', 'e3'] });
    // A window opened by the failing call itself reruns in place.
    const fresh = explicitCore(counter() as Scorer<unknown>);
    const inPlace = fresh.process(0, all);
    expect(inPlace.deadLetters).toHaveLength(1);
    expect(states(fresh)).toEqual(states(core));
  });

  it('real scorers: windows of any size end in the state, alerts and decisions of per-batch flushing, and a restore from either changelog agrees', () => {
    const config = parseConfig({ detectors: { commandAnomaly: { block: true } } }).detectors;
    const make = () => ({ scorers: createScorers(config) as Scorer<unknown>[], aggregator: createAggregator(config) });
    const specs: IAccessEvent[] = [];
    for (let i = 0; i < 160; i++) {
      const agent = `agent:${i % 4}`;
      const bulk = i === 150;
      const p = pair(agent, T0 + i * 13 * MINUTE, { tables: [bulk ? 'payroll' : 'orders'], hasWhere: !bulk, hasLimit: !bulk }, { rows: bulk ? 500_000 : 5 + (i % 7), pii: { email: i % 3 } }, { sessionId: `s-${Math.floor(i / 5)}` });
      specs.push(p.request, p.response);
    }
    const recs = specs.map((e, i): InputRecord => ({ topic: 'events', partition: 0, offset: String(i), key: null, value: encodeEvent(e), timestamp: T0 }));

    const perBatch = (() => {
      const m = make();
      const core = new DetectorCore(m.scorers, { consumer: 'test', aggregator: m.aggregator });
      core.assign(0);
      const alerts: string[] = [];
      const changelogs: Array<Map<string, OutRecord[]>> = [];
      for (let i = 0; i < recs.length; i += 7) {
        const out = core.process(0, recs.slice(i, i + 7));
        alerts.push(...out.alerts.map((a) => String(a.key)), ...out.decisions.map((d) => `decision:${String(d.key)}`));
        changelogs.push(out.changelog);
      }
      return { core, alerts, changelogs };
    })();
    expect(perBatch.alerts.length).toBeGreaterThan(0);

    for (const windowBatches of [1, 3, 20, 1000]) {
      const m = make();
      const core = new DetectorCore(m.scorers, { consumer: 'test', aggregator: m.aggregator, flush: 'explicit' });
      core.assign(0);
      const alerts: string[] = [];
      const changelogs: Array<Map<string, OutRecord[]>> = [];
      let batches = 0;
      for (let i = 0; i < recs.length; i += 7) {
        const out = core.process(0, recs.slice(i, i + 7));
        alerts.push(...out.alerts.map((a) => String(a.key)), ...out.decisions.map((d) => `decision:${String(d.key)}`));
        if (++batches % windowBatches === 0) changelogs.push(core.flush(0)?.changelog ?? new Map());
      }
      changelogs.push(core.flush(0)?.changelog ?? new Map());
      expect(alerts, `window of ${windowBatches}`).toEqual(perBatch.alerts);
      expect(states(core), `window of ${windowBatches}`).toEqual(states(perBatch.core));
      const m2 = make();
      const back = restored(m2.scorers, changelogs, { aggregator: m2.aggregator });
      expect(states(back), `restored, window of ${windowBatches}`).toEqual(states(perBatch.core));
    }
  });
});
