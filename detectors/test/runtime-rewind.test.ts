import { describe, it, expect, afterEach } from 'vitest';
import { createBus, type Bus, type BusProducer, type BusRecord } from '@portcullis/bus';
import { busSchema, detectorsSchema, silentLogger } from '@portcullis/common';
import { DeadLetter, encodeEvent } from '@portcullis/proto';
import { runDetectors, type DetectorRuntime, type DetectorTopics, type Scorer } from '../src/index.js';
import { accessEvent, T0, MINUTE, type EventSpec } from './fixtures/events.js';
import { counterScorer } from './fixtures/counter-scorer.js';
import { until } from '../../test/support/until.js';

/**
 * Failures inside a commit interval, on the in-process bus: the partition's state goes
 * back to its last flush and the bus re-delivers from the last commit, so every event
 * is counted once in the end and alerts keep their ids.
 */

const logger = silentLogger();
const memoryBus = (): Bus => createBus(busSchema.parse({ kind: 'memory' }), logger, { memory: { retry: { initialMs: 5, maxMs: 20 } } });

/** The in-process bus whose producers fail the next `failures` sends to topics matching `which` (a broker outage on that path). */
function withFailingSends(bus: Bus, which: RegExp): { bus: Bus; fail(n: number): void } {
  let failures = 0;
  const wrapped: Bus = {
    kind: bus.kind,
    ensureTopics: (s) => bus.ensureTopics(s),
    subscribe: (o) => bus.subscribe(o),
    readToEnd: (t, f) => bus.readToEnd(t, f),
    endOffsets: (t) => bus.endOffsets(t),
    close: () => bus.close(),
    producer: async (o) => {
      const p = await bus.producer(o);
      const producer: BusProducer = {
        send: async (topic, records) => {
          if (which.test(topic) && failures > 0) {
            failures -= 1;
            throw new Error('broker unavailable (injected)');
          }
          return p.send(topic, records);
        },
        flush: () => p.flush(),
        close: () => p.close(),
      };
      return producer;
    },
  };
  return { bus: wrapped, fail: (n) => (failures = n) };
}

function topicsOf(name: string): DetectorTopics {
  return { events: `${name}.events`, alerts: `${name}.alerts`, decisions: `${name}.decisions`, dlq: `${name}.dlq`, state: (d) => `${name}.state.${d}` };
}

async function readAll(bus: Bus, topic: string): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  await bus.readToEnd(topic, (r) => {
    out.push(r);
  });
  return out;
}


const events = (from: number, n: number, extra: Partial<EventSpec> = {}): EventSpec[] => Array.from({ length: n }, (_, i) => ({ credentialId: 'tok', subject: 'agent:x', time: T0 + (from + i) * MINUTE, eventId: `e${from + i}`, ...extra }));

async function send(bus: Bus, topic: string, specs: EventSpec[]): Promise<void> {
  const producer = await bus.producer();
  // One send per record: separate batches, so a window spans several of them.
  for (const s of specs) await producer.send(topic, [{ key: 'agent:x', value: encodeEvent(accessEvent(s)) }]);
  await producer.close();
}

describe('detector runtime: failures inside a commit interval (in-process bus)', () => {
  const open: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    for (const c of open.reverse()) await c.close();
    open.length = 0;
  });

  async function start(bus: Bus, topics: DetectorTopics, commitIntervalMs = 600_000): Promise<DetectorRuntime> {
    const r = await runDetectors({
      bus,
      scorers: [counterScorer('counter', 5) as Scorer<unknown>],
      logger,
      topics,
      config: detectorsSchema.parse({ groupId: `g-${topics.events}`, runtime: { commitIntervalMs, maxBatch: 1 } }),
      partitions: { events: 1, alerts: 1, decisions: 1, dlq: 1, state: 1 },
      core: { productVersion: 'test' },
      lagIntervalMs: 20,
    });
    open.push(r);
    return r;
  }

  it('an alert publish that fails mid-window replays the window from the last commit: one count per event, one alert id', async () => {
    const memory = memoryBus();
    open.push(memory);
    const { bus, fail } = withFailingSends(memory, /\.alerts$/);
    const topics = topicsOf('rewind-publish');
    const runtime = await start(bus, topics);
    await send(bus, topics.events, events(0, 3));
    await until('three events', () => runtime.stats().events === 3);
    fail(1); // the 5th event's alert cannot be published the first time
    await send(bus, topics.events, events(3, 4));
    // e0–e3 once, e4's batch fails, e0–e4 again from the (absent) commit, then e5 and e6.
    await until('the replay and the rest', () => runtime.stats().events === 4 + 5 + 2);
    expect(runtime.stats().alerts).toBe(1);
    expect(runtime.stats().publishFailures).toBe(1);
    await runtime.close();
    // The flushed state saw each event once, although events 0–4 were scored twice.
    const changelog = (await readAll(memory, topics.state('counter'))).filter((r) => r.key?.toString() === '0:tok');
    expect(changelog).toHaveLength(1);
    expect(JSON.parse(String(changelog[0]?.value))).toEqual({ n: 7, seen: ['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6'] });
    const alerts = await readAll(memory, topics.alerts);
    expect(alerts).toHaveLength(1);
  });

  it('a failed timer flush puts the partition back and its next batch replays from the last commit', async () => {
    const memory = memoryBus();
    open.push(memory);
    const { bus, fail } = withFailingSends(memory, /\.state\./);
    const topics = topicsOf('rewind-flush');
    fail(1); // the first flush of the changelog fails
    const runtime = await start(bus, topics, 20);
    await send(bus, topics.events, events(0, 3));
    await until('the failed flush', () => runtime.stats().flushFailures === 1);
    // The next batch makes the bus rewind: e0–e4 are scored again from the (absent) commit.
    await send(bus, topics.events, events(3, 2));
    await until('the replay, flushed', () => runtime.stats().events === 3 + 5 && runtime.stats().flushes >= 1 && runtime.stats().lag.length === 1 && runtime.stats().lag.every((l) => l.lag === 0));
    await runtime.close();
    open.pop();
    // Scored once each in the end: the state went back to the (empty) last flush before the replay.
    const changelog = (await readAll(memory, topics.state('counter'))).filter((r) => r.key?.toString() === '0:tok');
    expect(JSON.parse(String(changelog[changelog.length - 1]?.value))).toEqual({ n: 5, seen: ['e0', 'e1', 'e2', 'e3', 'e4'] });
  });

  it('a close whose flush fails commits nothing: the next member replays the interval once', async () => {
    const memory = memoryBus();
    open.push(memory);
    const { bus, fail } = withFailingSends(memory, /\.state\./);
    const topics = topicsOf('rewind-close');
    const runtime = await start(bus, topics);
    await send(bus, topics.events, events(0, 3));
    await until('three events', () => runtime.stats().events === 3);
    fail(1);
    await runtime.close();
    open.pop();
    expect(runtime.stats().flushFailures).toBe(1);
    expect(await readAll(memory, topics.state('counter'))).toHaveLength(0);
    const next = await start(bus, topics);
    await until('the replay', () => next.stats().events === 3);
    await next.close();
    open.pop();
    const changelog = (await readAll(memory, topics.state('counter'))).filter((r) => r.key?.toString() === '0:tok');
    expect(JSON.parse(String(changelog[changelog.length - 1]?.value))).toEqual({ n: 3, seen: ['e0', 'e1', 'e2'] });
  });

  it('a scorer that throws inside a window replays it from the last commit with that event dead-lettered', async () => {
    const bus = memoryBus();
    open.push(bus);
    const topics = topicsOf('rewind-scorer');
    const runtime = await start(bus, topics);
    await send(bus, topics.events, [...events(0, 2), { credentialId: 'tok', subject: 'agent:x', time: T0 + 2 * MINUTE, eventId: 'e-boom', command: 'boom' }, ...events(3, 2)]);
    // e0 and e1; the failing batch rolls back and rewinds; e0, e1 and the parked event again; e3 and e4.
    await until('the replay and the rest', () => runtime.stats().events === 2 + 3 + 2);
    expect(runtime.stats().deadLetters).toBe(1);
    await runtime.close();
    open.pop();
    const dead = await readAll(bus, topics.dlq);
    expect(dead).toHaveLength(1);
    expect(DeadLetter.decode(dead[0]?.value ?? Buffer.alloc(0)).reason).toMatch(/scorer counter failed: scorer bug/);
    const changelog = (await readAll(bus, topics.state('counter'))).filter((r) => r.key?.toString() === '0:tok');
    expect(JSON.parse(String(changelog[changelog.length - 1]?.value))).toEqual({ n: 4, seen: ['e0', 'e1', 'e3', 'e4'] });
  });
});
