import { describe, it, expect } from 'vitest';
import type { IAccessEvent } from '@portcullis/proto';
import { parseConfig } from '@portcullis/common';
import { createCredentialOriginScorer, createScorers, DetectorCore, type BatchResult, type CredentialOriginState, type InputRecord, type Scorer } from '../src/index.js';
import { encoded, ORIGIN_A, T0, MINUTE, type EventSpec } from './fixtures/events.js';
import { pair, request } from './fixtures/agent-traffic.js';
import { counterScorer, type Counter } from './fixtures/counter-scorer.js';

/**
 * The batch contract between the runtime and in-place scorers: a scorer edits the state
 * it is given, the runtime keeps one rollback copy per entity per batch, writes each
 * dirty entity once with its final state, and a batch is all or nothing.
 */

let offset = 0;
function rec(s: EventSpec): InputRecord {
  offset += 1;
  return { topic: 'events', partition: 0, offset: String(offset), key: null, value: encoded(s), timestamp: T0 };
}

const counter = (name = 'counter'): Scorer<Counter> => counterScorer(name);

function coreOf(...scorers: Scorer<unknown>[]): DetectorCore {
  const core = new DetectorCore(scorers, { consumer: 'test' });
  core.assign(0);
  return core;
}

function states(core: DetectorCore): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const { detector, key, state } of core.entries(0)) out[`${detector}/${key}`] = structuredClone(state);
  return out;
}

const changelogKeys = (out: BatchResult, store: string): string[] => (out.changelog.get(store) ?? []).map((r) => String(r.key));

describe('batch state contract', () => {
  it('writes an entity updated many times in a batch once, with its final state', () => {
    const core = coreOf(createCredentialOriginScorer({ maturityEvents: 50, maturityMs: 0, originTtlMs: 86_400_000, maxOriginsPerCredential: 16, alertScore: 0.5, block: false, blockTtlMs: 0 }) as Scorer<unknown>);
    const out = core.process(0, Array.from({ length: 10 }, (_, i) => rec({ credentialId: 'tok_a', time: T0 + i * MINUTE, ...ORIGIN_A })));
    expect(changelogKeys(out, 'credential-origin')).toEqual(['0:tok_a', '0/offset']);
    const record = out.changelog.get('credential-origin')?.[0];
    const scorer = core.scorers[0] as Scorer<CredentialOriginState>;
    const written = scorer.deserialize(record?.value as Buffer);
    expect(written.origins).toHaveLength(1);
    expect(written.origins[0]?.count).toBe(10);
    expect(written).toEqual([...core.entries(0)][0]?.state);
  });

  it('leaves every state as it was before a batch that throws midway', () => {
    const core = coreOf(counter() as Scorer<unknown>);
    core.process(0, [rec({ credentialId: 'a', time: T0 }), rec({ credentialId: 'a', time: T0 + 1 })]);
    const before = states(core);
    const failing = [rec({ credentialId: 'a', time: T0 + 2 }), rec({ credentialId: 'b', time: T0 + 3 }), rec({ credentialId: 'a', time: T0 + 4, command: 'key-boom' })];
    expect(() => core.process(0, failing)).toThrow(/keyOf bug/);
    expect(states(core)).toEqual(before);
    // Nothing of the failed batch counts as applied: the same records score again.
    const retried = core.process(0, failing.slice(0, 2));
    expect(retried.events).toBe(2);
    expect(states(core)).toEqual({ 'counter/a': { n: 3, seen: expect.any(Array) as unknown }, 'counter/b': { n: 1, seen: expect.any(Array) as unknown } });
  });

  it('parks the event a scorer throws on, with the entity exactly as if that event never reached it', () => {
    const core = coreOf(counter() as Scorer<unknown>, counter('other') as Scorer<unknown>);
    const batch = [rec({ credentialId: 'a', time: T0, eventId: 'e1' }), rec({ credentialId: 'a', time: T0 + 1, eventId: 'e2', command: 'boom' }), rec({ credentialId: 'a', time: T0 + 2, eventId: 'e3' })];
    const out = core.process(0, batch);
    expect(out.events).toBe(3);
    // Both scorers throw on `boom` (same scorer code): one dead letter each.
    expect(out.deadLetters).toHaveLength(2);
    const s = states(core);
    expect(s['counter/a']).toEqual({ n: 2, seen: ['e1', 'e3'] });
    expect(s['other/a']).toEqual({ n: 2, seen: ['e1', 'e3'] });
    // The changelog carries the same final state, once.
    const written = (out.changelog.get('counter') ?? []).filter((r) => String(r.key) === '0:a');
    expect(written).toHaveLength(1);
    expect(JSON.parse(String(written[0]?.value))).toEqual({ n: 2, seen: ['e1', 'e3'] });
  });

  it('rolls in-place states back after a failed publish, but only the partition’s latest batch', () => {
    const core = coreOf(counter() as Scorer<unknown>);
    core.process(0, [rec({ credentialId: 'a', time: T0 })]);
    const before = states(core);
    const failed = core.process(0, [rec({ credentialId: 'a', time: T0 + 1 }), rec({ credentialId: 'new', time: T0 + 2 })]);
    expect(states(core)).not.toEqual(before);
    failed.rollback();
    expect(states(core)).toEqual(before);
    failed.rollback(); // idempotent

    const published = core.process(0, [rec({ credentialId: 'a', time: T0 + 3 })]);
    core.process(0, [rec({ credentialId: 'a', time: T0 + 4 })]);
    expect(() => published.rollback()).toThrow(/latest/);
  });

  it('built-in scorers: score() never modifies its input and agrees with update()', () => {
    const scorers = createScorers(parseConfig({}).detectors) as Array<Scorer<unknown>>;
    const events: IAccessEvent[] = [];
    for (let i = 0; i < 30; i++) {
      const p = pair('agent:c', T0 + i * 7 * MINUTE, { tables: ['orders', i % 3 === 0 ? 'payroll' : 'items'] }, { rows: 10 + i, pii: { email: i } }, { sessionId: `s-${Math.floor(i / 4)}` });
      events.push(p.request, p.response);
    }
    events.push(request('agent:c', T0 + 10 * 60 * MINUTE, 's-late'));
    for (const scorer of scorers) {
      if (!scorer.update || !scorer.clone) continue;
      let pure = scorer.init();
      let inPlace = scorer.init();
      for (const e of events) {
        if (scorer.keyOf(e) === undefined) continue;
        const snapshot = structuredClone(pure);
        const r = scorer.score(pure, e);
        expect(pure, scorer.name).toEqual(snapshot);
        const u = scorer.update(inPlace, e);
        inPlace = u.state;
        expect(u.findings, scorer.name).toEqual(r.findings);
        if (!u.changed) expect(r.state, scorer.name).toBe(pure);
        pure = r.state;
        expect(inPlace, scorer.name).toEqual(pure);
      }
    }
  });
});
