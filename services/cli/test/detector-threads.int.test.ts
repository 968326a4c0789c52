import { describe, it, expect } from 'vitest';
import { createBus, partitionForKey, type Bus, type BusRecord } from '@portcullis/bus';
import { MetricsRegistry, parseConfig, silentLogger, Topics } from '@portcullis/common';
import { encodeEvent, IdentityKind, Phase, type IAccessEvent } from '@portcullis/proto';
import { kafkaBrokers } from '../../../test/support/kafka.js';
import { mergeStats, startDetectorThreads } from '../src/components/detector-threads.js';
import { until } from '../../../test/support/until.js';

/**
 * detectors.runtime.threads: 2 — two group members in worker threads of one process,
 * on the real broker: they split the partitions, score, alert, report merged stats and
 * thread-labelled metrics, and close cleanly.
 */
const logger = silentLogger();


describe('detector threads on Kafka', () => {
  it('split the partitions between threads, alert on a new origin, and merge stats and metrics', async () => {
    const run = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const brokers = await kafkaBrokers();
    const config = parseConfig({
      bus: { kind: 'kafka', brokers, clientId: `threads-${run}` },
      detectors: { groupId: `detectors-threads-${run}`, runtime: { threads: 2, commitIntervalMs: 200 }, credentialOrigin: { maturityEvents: 5 } },
    });
    const metrics = new MetricsRegistry();
    const bus: Bus = createBus(config.bus, logger);
    const runtime = await startDetectorThreads(config, logger, metrics, { reportIntervalMs: 100 });
    try {
      const partitions = config.bus.partitions.events;

      const subject = `agent:threads-${run}`;
      const credentialId = `tok-threads-${run}`;
      const event = (i: number, ip: string, host: string): IAccessEvent => ({
        eventId: `evt-threads-${run}-${i}`,
        time: Date.UTC(2026, 10, 2, 9) + i * 60_000,
        phase: Phase.REQUEST,
        environment: 'test',
        gatewayId: 'gw-threads',
        identity: { subject, kind: IdentityKind.AGENT, credentialId },
        origin: { peerIp: ip, declaredHost: host, containerId: `${host}-c` },
        connection: { name: 'orders' },
        command: { text: 'SELECT 1', fingerprint: 'SELECT ?', statementType: 'SELECT', tables: [] },
      });
      const producer = await bus.producer();
      // One event for a subject on every partition, so each thread has something to score.
      const spread = Array.from({ length: 64 }, (_, i) => `agent:spread-${run}-${i}`);
      const onEvery = Array.from({ length: partitions }, (_, p) => spread.find((s) => partitionForKey(s, partitions) === p) as string);
      await producer.send(Topics.events, onEvery.map((s, i) => ({ key: s, value: encodeEvent({ ...event(100 + i, '10.2.2.2', 'worker-2'), identity: { subject: s, kind: IdentityKind.AGENT, credentialId: `tok-${s}` } }) })));
      const baseline = Array.from({ length: 8 }, (_, i) => event(i, '10.1.1.1', 'worker-1'));
      await producer.send(Topics.events, [...baseline, event(8, '203.0.113.77', 'laptop')].map((e) => ({ key: subject, value: encodeEvent(e) })));
      await producer.close();

      const ours = async (): Promise<BusRecord[]> => {
        const out: BusRecord[] = [];
        await bus.readToEnd(Topics.alerts, (r) => {
          if (String(r.value).includes(credentialId)) out.push(r);
        });
        return out;
      };
      await until('the alert for our credential', async () => (await ours()).length > 0, 90_000, 200);
      const alert = JSON.parse(String((await ours())[0]?.value)) as { class_uid: number; metadata: { product: { name: string } }; actor: { user: { credential_uid: string } } };
      expect(alert.class_uid).toBe(2004);
      expect(alert.actor.user.credential_uid).toBe(credentialId);

      // Each partition is owned (restored) by exactly one thread, and both threads scored events.
      await until('every events partition owned and restored', () => runtime.stats().partitions.length >= partitions && runtime.stats().restoring.length === 0);
      expect(runtime.stats().partitions).toEqual(Array.from({ length: partitions }, (_, p) => p));
      const scored = (text: string, thread: number): number => Number(new RegExp(`^portcullis_detector_events_total\\{thread="${thread}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
      await until('events scored by both threads', () => scored(metrics.render(), 0) > 0 && scored(metrics.render(), 1) > 0);
      const text = metrics.render();
      expect(text.match(/^# TYPE portcullis_detector_events_total counter$/gm)).toHaveLength(1);
      expect(runtime.stats().alerts).toBeGreaterThan(0);
    } finally {
      await runtime.close();
      await bus.close();
    }
  });

  it('refuses more than one thread on the in-process bus when the config is read', () => {
    expect(() => parseConfig({ detectors: { runtime: { threads: 2 } } })).toThrow(/threads.*bus\.kind: kafka|bus\.kind: kafka/);
  });

  it('merges the threads’ stats: sums, the partitions of all, state per detector', () => {
    const base = { events: 0, eventsPerSecond: 0, alerts: 0, decisions: 0, suppressed: 0, deadLetters: 0, duplicates: 0, publishFailures: 0, flushes: 0, flushFailures: 0, partitions: [], restoring: [], paused: false, pendingRecords: 0, lag: [], state: [] };
    const merged = mergeStats([
      { ...base, events: 3, alerts: 1, partitions: [0, 2, 4], lag: [{ partition: 4, lag: 1 }], state: [{ detector: 'timing', entries: 2, bytes: 200, bytesPerEntry: 100 }] },
      { ...base, events: 5, paused: true, partitions: [1, 3, 5], restoring: [5], lag: [{ partition: 1, lag: 0 }], state: [{ detector: 'timing', entries: 3, bytes: 600, bytesPerEntry: 200 }] },
    ]);
    expect(merged).toMatchObject({ events: 8, alerts: 1, paused: true, partitions: [0, 1, 2, 3, 4, 5], restoring: [5], lag: [{ partition: 1, lag: 0 }, { partition: 4, lag: 1 }], state: [{ detector: 'timing', entries: 5, bytes: 800, bytesPerEntry: 160 }] });
  });
});
