import { describe, it, expect } from 'vitest';
import { DeadLetter, Phase, decodeDecision } from '@portcullis/proto';
import { createCredentialOriginScorer, DetectorCore, parseChangelogKey, type BatchResult, type CredentialOriginSettings, type InputRecord, type Scorer } from '../src/index.js';
import { encoded, ORIGIN_A, ORIGIN_B, T0, MINUTE, type EventSpec } from './fixtures/events.js';

const settings: CredentialOriginSettings = { maturityEvents: 50, maturityMs: 0, originTtlMs: 86_400_000, maxOriginsPerCredential: 16, alertScore: 0.5, block: true, blockTtlMs: 3_600_000 };

let offset = 0;
function rec(value: Buffer | null, partition = 0): InputRecord {
  offset += 1;
  return { topic: 'events', partition, offset: String(offset), key: Buffer.from('agent:planner'), value, timestamp: T0 };
}
const events = (specs: EventSpec[], partition = 0) => specs.map((s) => rec(encoded(s), partition));
const fromA = (n: number, cred = 'tok_a'): EventSpec[] => Array.from({ length: n }, (_, i) => ({ credentialId: cred, time: T0 + i * MINUTE, ...ORIGIN_A }));

function newCore(extra: Partial<ConstructorParameters<typeof DetectorCore>[1]> = {}, scorerSettings = settings): DetectorCore {
  const core = new DetectorCore([createCredentialOriginScorer(scorerSettings) as Scorer<unknown>], { consumer: 'test-group', ...extra });
  core.assign(0);
  return core;
}

/** Replays a batch's changelog into another core, as a restart would. */
function replay(into: DetectorCore, ...outs: BatchResult[]): void {
  for (const out of outs) for (const [detector, records] of out.changelog) for (const r of records) into.restore(detector, String(r.key), r.value);
}

describe('detector core', () => {
  it('emits one alert and one decision for a new origin after a mature baseline', () => {
    const core = newCore();
    const base = core.process(0, events(fromA(60)));
    expect(base.alerts).toEqual([]);
    const out = core.process(0, events([{ credentialId: 'tok_a', time: T0 + 61 * MINUTE, eventId: 'evt-b', ...ORIGIN_B }]));
    expect(out.alerts).toHaveLength(1);
    const alert = JSON.parse(String(out.alerts[0]?.value)) as { class_uid: number; finding_info: { uid: string } };
    expect(alert.class_uid).toBe(2004);
    expect(alert.finding_info.uid).toBe(out.alerts[0]?.key);
    expect(out.decisions).toHaveLength(1);
    expect(out.decisions[0]?.key).toBe('credential:tok_a');
    const d = decodeDecision(out.decisions[0]?.value ?? Buffer.alloc(0));
    expect(d.alertId).toBe(out.alerts[0]?.key);
    expect(d.expiresAt).toBe(T0 + 61 * MINUTE + 3_600_000);
  });

  it('writes only changed entities to the changelog, keyed by partition', () => {
    const core = newCore();
    const out = core.process(0, events([...fromA(3, 'tok_a'), ...fromA(2, 'tok_b'), { credentialId: 'tok_c', time: T0, phase: Phase.RESPONSE }]));
    const keys = (out.changelog.get('credential-origin') ?? []).map((r) => String(r.key)).sort();
    // Plus the store's applied offset, written after its entries.
    expect(keys).toEqual(['0/offset', '0:tok_a', '0:tok_b']);
    expect(parseChangelogKey('0/offset')).toEqual({ partition: 0, kind: 'offset' });
    expect(parseChangelogKey('0:tok_a')).toEqual({ partition: 0, kind: 'state', key: 'tok_a' });
    expect(parseChangelogKey('12:x:y')).toEqual({ partition: 12, kind: 'state', key: 'x:y' });
    expect(parseChangelogKey('3/recent-alerts')).toEqual({ partition: 3, kind: 'recent-alerts' });
  });

  it('parks undecodable and id-less records as dead letters and goes on', () => {
    const core = newCore();
    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const out = core.process(0, [rec(garbage), rec(Buffer.alloc(0)), ...events(fromA(2))]);
    expect(out.events).toBe(2);
    expect(out.deadLetters).toHaveLength(2);
    const dl = DeadLetter.decode(out.deadLetters[0]?.value ?? Buffer.alloc(0));
    expect(dl.reason).toMatch(/undecodable AccessEvent/);
    expect(Buffer.from(dl.value).equals(garbage)).toBe(true);
    expect(dl).toMatchObject({ sourceTopic: 'events', sourcePartition: 0, consumer: 'test-group' });
    expect(DeadLetter.decode(out.deadLetters[1]?.value ?? Buffer.alloc(0)).reason).toMatch(/missing event_id/);
  });

  it('restores from its changelog: a restarted core keeps the baseline and its alert ids', () => {
    const first = newCore();
    const base = first.process(0, events(fromA(60)));
    const trigger = events([{ credentialId: 'tok_a', time: T0 + 61 * MINUTE, eventId: 'evt-b', ...ORIGIN_B }]);
    const alerted = first.process(0, trigger);
    expect(alerted.alerts).toHaveLength(1);

    const restarted = newCore();
    replay(restarted, base);
    // Crash after the alert was published but before the changelog was: the re-delivered
    // event alerts again, under the same id.
    const redelivered = restarted.process(0, trigger);
    expect(redelivered.alerts.map((a) => a.key)).toEqual(alerted.alerts.map((a) => a.key));
    expect(restarted.process(0, events([{ credentialId: 'tok_a', time: T0 + 62 * MINUTE, ...ORIGIN_A }])).alerts).toEqual([]);

    const full = newCore();
    replay(full, base, alerted);
    expect(full.process(0, trigger).alerts).toEqual([]);
    expect(full.process(0, events([{ credentialId: 'tok_a', time: T0 + 63 * MINUTE, ip: '192.0.2.77' }])).alerts).toHaveLength(1);
  });

  it('restores only the partitions it is asked to', () => {
    const source = newCore();
    source.assign(1);
    const outs = [source.process(0, events(fromA(5, 'tok_p0'), 0)), source.process(1, events(fromA(5, 'tok_p1'), 1))];
    const target = newCore();
    target.assign(1);
    for (const out of outs) for (const [d, records] of out.changelog) for (const r of records) target.restore(d, String(r.key), r.value, new Set([1]));
    expect(target.stateSize()[0]?.entries).toBe(1);
  });

  it('suppresses an alert id it emitted recently', () => {
    // A scorer whose state never remembers and names every finding after the same first
    // evidence: each event would alert again under the same id.
    const forgetful: Scorer<number> = {
      name: 'forgetful',
      keyOf: (e) => e.identity?.credentialId ?? undefined,
      init: () => 0,
      score: (s, e) => ({
        state: s + 1,
        findings: [{ detector: 'forgetful', key: 'k', title: 't', description: 'd', severity: 'low', score: 1, confidence: 1, analytic: 'rule', subject: { kind: 'credential', value: 'k' }, eventIds: ['first', e.eventId ?? ''], firstSeen: e.time ?? 0, lastSeen: e.time ?? 0, details: {} }],
      }),
      serialize: (s) => Buffer.from(String(s)),
      deserialize: (b) => Number(b.toString()),
    };
    const core = new DetectorCore([forgetful as Scorer<unknown>], { recentAlertIds: 4 });
    core.assign(0);
    const first = core.process(0, events([{ credentialId: 'k', time: T0, eventId: 'e1' }]));
    expect(first.alerts).toHaveLength(1);
    const again = core.process(0, events([{ credentialId: 'k', time: T0 + 1, eventId: 'e2' }]));
    expect(again.alerts).toHaveLength(0);
    expect(again.perDetector.get('forgetful')?.suppressed).toBe(1);
    // The dedupe set travels in the changelog too.
    const restored = new DetectorCore([forgetful as Scorer<unknown>], { recentAlertIds: 4 });
    restored.assign(0);
    replay(restored, first);
    expect(restored.process(0, events([{ credentialId: 'k', time: T0 + 2, eventId: 'e3' }])).alerts).toHaveLength(0);
  });

  it('rolls a batch back so a re-delivery scores the same', () => {
    const core = newCore();
    core.process(0, events(fromA(60)));
    const trigger = events([{ credentialId: 'tok_a', time: T0 + 61 * MINUTE, eventId: 'evt-b', ...ORIGIN_B }]);
    const failed = core.process(0, trigger);
    failed.rollback();
    const retried = core.process(0, trigger);
    expect(retried.alerts.map((a) => a.key)).toEqual(failed.alerts.map((a) => a.key));
    expect(retried.alerts).toHaveLength(1);
  });

  it('rolls the event-id ring back with its batch, also when the batch wrapped it', () => {
    const core = newCore({ recentEventIds: 8 });
    core.process(0, events(fromA(20)));
    const batch = events(fromA(12).map((s, i) => ({ ...s, time: T0 + (30 + i) * MINUTE, eventId: `evt-r${i}` })));
    const failed = core.process(0, batch);
    failed.rollback();
    const retried = core.process(0, batch);
    expect([retried.events, retried.duplicates]).toEqual([12, 0]);
    expect(retried.changelog.get('runtime')).toEqual(failed.changelog.get('runtime'));
    // The ring still holds the retried batch's ids: a second copy of one at a later offset is dropped.
    const again = core.process(0, events([{ ...fromA(1)[0], time: T0 + 50 * MINUTE, eventId: 'evt-r11' }]));
    expect([again.events, again.duplicates]).toEqual([0, 1]);
  });

  it('bounds entities per partition, tombstoning the least recently updated', () => {
    const core = newCore({ maxKeysPerPartition: 3 });
    const out = core.process(0, events(['c1', 'c2', 'c3', 'c4', 'c5'].map((c, i) => ({ credentialId: c, time: T0 + i }))));
    expect(core.stateSize()[0]?.entries).toBe(3);
    const tombstones = (out.changelog.get('credential-origin') ?? []).filter((r) => r.value === null).map((r) => String(r.key));
    expect(tombstones.sort()).toEqual(['0:c1', '0:c2']);
  });

  it('sweeps dormant entities out once event time passes their TTL', () => {
    const core = newCore({ evictIntervalMs: MINUTE }, { ...settings, originTtlMs: 10 * MINUTE });
    core.process(0, events(fromA(3, 'dormant')));
    const later = Array.from({ length: 5 }, (_, i) => ({ credentialId: 'busy', time: T0 + (60 + i) * MINUTE }));
    const out = core.process(0, events(later));
    expect(core.stateSize()[0]?.entries).toBe(1);
    expect((out.changelog.get('credential-origin') ?? []).find((r) => String(r.key) === '0:dormant')?.value).toBeNull();
  });
});
