import { describe, it, expect, afterEach } from 'vitest';
import { createBus, partitionForKey, type Bus, type BusRecord } from '@portcullis/bus';
import { busSchema, detectorsSchema, MetricsRegistry, silentLogger } from '@portcullis/common';
import { DeadLetter, decodeDecision, encodeEvent } from '@portcullis/proto';
import { createCredentialOriginScorer, runDetectors, type DetectorRuntime, type DetectorTopics, type Scorer } from '../src/index.js';
import { kafkaBrokers, uniqueTopic } from '../../test/support/kafka.js';
import { accessEvent, ORIGIN_A, ORIGIN_B, T0, MINUTE, type EventSpec } from './fixtures/events.js';
import { until } from '../../test/support/until.js';

const logger = silentLogger();
const scorerSettings = { maturityEvents: 50, maturityMs: 0, originTtlMs: 30 * 86_400_000, maxOriginsPerCredential: 64, alertScore: 0.5, block: true, blockTtlMs: 3_600_000 };

type BusKind = 'memory' | 'kafka';

async function makeBus(kind: BusKind): Promise<Bus> {
  if (kind === 'memory') return createBus(busSchema.parse({ kind: 'memory' }), logger);
  return createBus(busSchema.parse({ kind: 'kafka', brokers: await kafkaBrokers(), clientId: 'detectors-int' }), logger);
}

function testTopics(prefix: string): DetectorTopics {
  const base = uniqueTopic(`detectors-int-${prefix}`);
  return {
    events: `${base}.events`,
    alerts: `${base}.alerts`,
    decisions: `${base}.decisions`,
    dlq: `${base}.dlq`,
    state: (detector) => `${base}.state.${detector}`,
  };
}

async function readAll(bus: Bus, topic: string): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  await bus.readToEnd(topic, (r) => {
    out.push(r);
  });
  return out;
}


const fromA = (n: number): EventSpec[] => Array.from({ length: n }, (_, i) => ({ credentialId: 'tok_int', subject: 'agent:int', time: T0 + i * MINUTE, ...ORIGIN_A }));

async function publish(bus: Bus, topic: string, values: Buffer[], key = 'agent:int'): Promise<void> {
  const producer = await bus.producer();
  await producer.send(
    topic,
    values.map((value) => ({ key, value })),
  );
  await producer.close();
}

const encodeAll = (specs: EventSpec[]) => specs.map((s) => encodeEvent(accessEvent(s)));

describe.each<BusKind>(['memory', 'kafka'])('detector runtime on the %s bus', (kind) => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of open.reverse()) await c.close();
    open.length = 0;
  });

  async function start(bus: Bus, topics: DetectorTopics, groupId: string, metrics = new MetricsRegistry(), maxPendingRecords?: number, commitIntervalMs?: number): Promise<DetectorRuntime> {
    const runtime = await runDetectors({
      bus,
      scorers: [createCredentialOriginScorer(scorerSettings) as Scorer<unknown>],
      logger,
      metrics,
      topics,
      // Through the config schema, as the CLI passes it.
      config: detectorsSchema.parse({ groupId, runtime: { ...(maxPendingRecords ? { maxPendingRecords } : {}), ...(commitIntervalMs !== undefined ? { commitIntervalMs } : {}) } }),
      partitions: { events: 3, alerts: 1, decisions: 1, dlq: 1, state: 1 },
      core: { productVersion: '0.1.0-test' },
      lagIntervalMs: 200,
    });
    open.push(runtime);
    return runtime;
  }

  it('alerts and blocks once on a new origin after a mature baseline, and parks garbage on the dlq', async () => {
    const bus = await makeBus(kind);
    open.push(bus);
    const topics = testTopics(kind);
    const metrics = new MetricsRegistry();
    const runtime = await start(bus, topics, `g-${topics.events}`, metrics);

    const garbage = Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]);
    const newOrigin: EventSpec = { credentialId: 'tok_int', subject: 'agent:int', time: T0 + 61 * MINUTE, eventId: 'evt-origin-b', ...ORIGIN_B };
    await publish(bus, topics.events, [...encodeAll(fromA(60)), garbage, ...encodeAll([newOrigin])]);
    await until('61 events and a dead letter', () => runtime.stats().events === 61 && runtime.stats().deadLetters === 1);

    const alerts = await readAll(bus, topics.alerts);
    expect(alerts).toHaveLength(1);
    const alert = JSON.parse(String(alerts[0]?.value)) as { class_uid: number; finding_info: { uid: string }; actor: { user: { credential_uid: string } }; evidences: Array<{ data: { event_ids: string[] } }> };
    expect(alert.class_uid).toBe(2004);
    expect(alert.actor.user.credential_uid).toBe('tok_int');
    expect(alert.evidences[0]?.data.event_ids).toEqual(['evt-origin-b']);
    expect(alert.finding_info.uid).toBe(alerts[0]?.key?.toString());

    const decisions = await readAll(bus, topics.decisions);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.key?.toString()).toBe('credential:tok_int');
    const d = decodeDecision(decisions[0]?.value ?? Buffer.alloc(0));
    expect(d).toMatchObject({ subject: 'credential:tok_int', alertId: alert.finding_info.uid, createdAt: T0 + 61 * MINUTE, expiresAt: T0 + 61 * MINUTE + 3_600_000 });

    const dead = await readAll(bus, topics.dlq);
    expect(dead).toHaveLength(1);
    const dl = DeadLetter.decode(dead[0]?.value ?? Buffer.alloc(0));
    expect(dl.reason).toMatch(/undecodable AccessEvent/);
    expect(Buffer.from(dl.value).equals(garbage)).toBe(true);
    expect(dl.sourceTopic).toBe(topics.events);

    await until('a lag sample', () => runtime.stats().lag.length === 3 && runtime.stats().lag.every((l) => l.lag === 0));
    const stats = runtime.stats();
    expect(stats).toMatchObject({ alerts: 1, decisions: 1, deadLetters: 1 });
    expect(stats.state).toEqual([expect.objectContaining({ detector: 'credential-origin', entries: 1 })]);
    expect(stats.state[0]?.bytesPerEntry).toBeGreaterThan(0);
    const text = metrics.render();
    expect(text).toContain('portcullis_detector_events_total 61');
    expect(text).toContain('portcullis_detector_alerts_total{detector="credential-origin"} 1');
    expect(text).toContain('portcullis_detector_dlq_total 1');
    expect(text).toMatch(/portcullis_detector_lag\{partition="0"\} 0/);
    expect(text).toMatch(/portcullis_detector_state_bytes\{detector="credential-origin"\} [1-9]/);
  });

  it('restores its state after a restart: no forgotten baseline, no second alert id', async () => {
    const bus = await makeBus(kind);
    open.push(bus);
    const topics = testTopics(`${kind}-restart`);
    const groupId = `g-${topics.events}`;

    // A bound of one pending record pauses and resumes around every batch: it must never stall.
    const first = await start(bus, topics, groupId, new MetricsRegistry(), 1);
    await publish(bus, topics.events, encodeAll(fromA(60)));
    await until('the baseline', () => first.stats().events === 60);
    await first.close();

    const second = await start(bus, topics, groupId);
    await until('the partitions', () => second.stats().partitions.length === 3);
    expect(second.stats().state[0]?.entries).toBe(1);
    await publish(bus, topics.events, encodeAll([{ credentialId: 'tok_int', subject: 'agent:int', time: T0 + 61 * MINUTE, ...ORIGIN_A }]));
    await until('the event from A', () => second.stats().events === 1);
    expect(second.stats().alerts).toBe(0);

    const fromB = encodeAll([{ credentialId: 'tok_int', subject: 'agent:int', time: T0 + 62 * MINUTE, eventId: 'evt-restart-b', ...ORIGIN_B }]);
    await publish(bus, topics.events, fromB);
    await until('the event from B', () => second.stats().events === 2);
    expect(second.stats().alerts).toBe(1);

    // The gateway's producer retried: the same event arrives twice, and is scored once.
    await publish(bus, topics.events, fromB);
    await until('the duplicate', () => second.stats().duplicates === 1);
    expect(second.stats().events).toBe(2);
    await second.close();

    // A member of a new group re-reads every event against the restored state: each
    // store's changelog says which offsets it applied, so none is counted twice.
    const replay = await start(bus, topics, `${groupId}-replay`);
    await until('the replay', () => replay.stats().duplicates === 63);
    expect(replay.stats().events).toBe(0);

    const alerts = await readAll(bus, topics.alerts);
    const ids = new Set(alerts.map((a) => a.key?.toString()));
    expect(ids.size).toBe(1);
    expect(alerts).toHaveLength(1);
    expect((await readAll(bus, topics.decisions)).map((r) => r.key?.toString())).toEqual(['credential:tok_int']);
  });
  it('restores the partitions a new member takes over, without rewinding the ones kept', async () => {
    const bus = await makeBus(kind);
    open.push(bus);
    const topics = testTopics(`${kind}-rebalance`);
    const groupId = `g-${topics.events}`;
    // One agent (and credential) per events partition, so whichever partitions move, some state moves.
    const agents = [0, 1, 2].map((p) => {
      const subject = Array.from({ length: 64 }, (_, i) => `agent:r${i}`).find((s) => partitionForKey(s, 3) === p);
      if (!subject) throw new Error(`no subject for partition ${p}`);
      return { subject, credentialId: `tok_${subject.slice(6)}` };
    });
    const spec = (a: (typeof agents)[number], minute: number, origin: object): EventSpec => ({ credentialId: a.credentialId, subject: a.subject, time: T0 + minute * MINUTE, ...origin });

    const first = await start(bus, topics, groupId);
    for (const a of agents) await publish(bus, topics.events, encodeAll(Array.from({ length: 60 }, (_, i) => spec(a, i, ORIGIN_A))), a.subject);
    await until('the baselines', () => first.stats().events === 180);
    // Flushed and committed within the commit interval (lag counts committed offsets).
    await until('the commit', () => first.stats().lag.length === 3 && first.stats().lag.every((l) => l.lag === 0));

    const second = await start(bus, topics, groupId);
    await until('the split', () => first.stats().partitions.length + second.stats().partitions.length === 3 && second.stats().partitions.length > 0 && second.stats().restoring.length === 0);
    // The newcomer holds the baselines of what it took over before seeing any event.
    expect(second.stats().state[0]?.entries).toBe(second.stats().partitions.length);
    expect(first.stats().state[0]?.entries).toBe(first.stats().partitions.length);

    for (const a of agents) await publish(bus, topics.events, encodeAll([spec(a, 61, ORIGIN_A), spec(a, 62, ORIGIN_B)]), a.subject);
    const total = () => first.stats().events + second.stats().events;
    await until('the new events', () => total() === 186);
    expect(first.stats().alerts + second.stats().alerts).toBe(3);
    const alerts = await readAll(bus, topics.alerts);
    const credentials = alerts.map((r) => (JSON.parse(String(r.value)) as { actor: { user: { credential_uid: string } } }).actor.user.credential_uid);
    expect(credentials.sort()).toEqual(agents.map((a) => a.credentialId).sort());
  });

  it('flushes state and commits once per commit interval, and on a clean close', async () => {
    const bus = await makeBus(kind);
    open.push(bus);
    const topics = testTopics(`${kind}-interval`);
    const groupId = `g-${topics.events}`;
    const first = await start(bus, topics, groupId, new MetricsRegistry(), undefined, 60_000);
    await publish(bus, topics.events, encodeAll(fromA(30)));
    await until('the events', () => first.stats().events === 30);
    await publish(bus, topics.events, encodeAll(fromA(30).map((e, i) => ({ ...e, time: T0 + (30 + i) * MINUTE }))));
    await until('more events', () => first.stats().events === 60);
    // Nothing flushed within the minute: the changelog holds no state yet.
    expect(first.stats().flushes).toBe(0);
    expect((await readAll(bus, topics.state('credential-origin'))).length).toBe(0);
    await first.close();
    // The close flushed: one record for the credential however many batches changed it.
    const changelog = await readAll(bus, topics.state('credential-origin'));
    expect(changelog.filter((r) => r.key?.toString().endsWith(':tok_int'))).toHaveLength(1);

    const second = await start(bus, topics, groupId);
    await until('the partitions', () => second.stats().partitions.length === 3);
    expect(second.stats().state[0]?.entries).toBe(1);
    await publish(bus, topics.events, encodeAll([{ credentialId: 'tok_int', subject: 'agent:int', time: T0 + 62 * MINUTE, eventId: 'evt-interval-b', ...ORIGIN_B }]));
    await until('the event from B', () => second.stats().events === 1);
    // Mature baseline restored from the flushed changelog, nothing replayed.
    expect(second.stats()).toMatchObject({ alerts: 1, duplicates: 0 });
  });
});

describe('detector runtime on the kafka bus, crash inside a commit interval', () => {
  it('a member that dies without flushing is replayed by the next from the last commit: same alert ids, nothing counted twice', async () => {
    const topics = testTopics('kafka-crash');
    const groupId = `g-${topics.events}`;
    const runtime = async (bus: Bus, commitIntervalMs: number): Promise<DetectorRuntime> =>
      runDetectors({
        bus,
        scorers: [createCredentialOriginScorer(scorerSettings) as Scorer<unknown>],
        logger,
        topics,
        config: detectorsSchema.parse({ groupId, runtime: { commitIntervalMs } }),
        partitions: { events: 3, alerts: 1, decisions: 1, dlq: 1, state: 1 },
        core: { productVersion: '0.1.0-test' },
        lagIntervalMs: 200,
      });
    const crashing = await makeBus('kafka');
    const doomed = await runtime(crashing, 600_000);
    const newOrigin: EventSpec = { credentialId: 'tok_int', subject: 'agent:int', time: T0 + 61 * MINUTE, eventId: 'evt-crash-b', ...ORIGIN_B };
    await publish(crashing, topics.events, [...encodeAll(fromA(60)), ...encodeAll([newOrigin])]);
    await until('the alert', () => doomed.stats().alerts === 1);
    expect(doomed.stats().flushes).toBe(0);
    // The process dies: its connections go, nothing is flushed or committed.
    await crashing.close();

    const bus = await makeBus('kafka');
    try {
      const next = await runtime(bus, 1_000);
      try {
        // Everything since the last commit (here: all of it) is scored again, once.
        await until('the replay', () => next.stats().events === 61);
        expect(next.stats()).toMatchObject({ alerts: 1, decisions: 1 });
        expect(next.stats().state[0]?.entries).toBe(1);
        const alerts = await readAll(bus, topics.alerts);
        expect(alerts).toHaveLength(2); // at least once …
        expect(new Set(alerts.map((a) => a.key?.toString())).size).toBe(1); // … under one id
        await until('the commit', () => next.stats().flushes > 0 && next.stats().lag.length === 3 && next.stats().lag.every((l) => l.lag === 0));
      } finally {
        await next.close();
      }
      // Committed and flushed: a third member replays nothing.
      const third = await runtime(bus, 1_000);
      try {
        await until('the partitions', () => third.stats().partitions.length === 3);
        await publish(bus, topics.events, encodeAll([{ credentialId: 'tok_int', subject: 'agent:int', time: T0 + 63 * MINUTE, ...ORIGIN_A }]));
        await until('the new event', () => third.stats().events === 1);
        expect(third.stats()).toMatchObject({ alerts: 0, duplicates: 0 });
      } finally {
        await third.close();
      }
    } finally {
      await doomed.close().catch(() => {});
      await bus.close();
    }
  });
});
