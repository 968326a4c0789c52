import { silentLogger } from '@portcullis/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';
import type { BusBatch, BusRecord } from '../src/bus.js';
import { KafkaBus } from '../src/kafka-bus.js';
import { partitionForKey } from '../src/partitioner.js';
import { byKey, text, waitFor } from './helpers.js';

const rec = (key: string | null, value: string | null, headers?: Record<string, string>) => ({ key, value: value === null ? null : Buffer.from(value), headers });

let bus: KafkaBus;
let brokers: string[];

beforeAll(async () => {
  brokers = await kafkaBrokers();
  bus = new KafkaBus({ brokers, clientId: 'bus-int', logger: silentLogger(), handlerRetry: { initialMs: 50, maxMs: 200 } });
}, 600_000);

afterAll(async () => {
  await bus?.close();
});

describe('KafkaBus against a real broker', () => {
  it('produces keyed records to murmur2 partitions and a group consumes them once, in order per key', async () => {
    const topic = uniqueTopic('bus.int.events');
    await bus.ensureTopics([{ name: topic, partitions: 4, cleanupPolicy: 'delete', retentionMs: 3_600_000 }]);
    await bus.ensureTopics([{ name: topic, partitions: 4, cleanupPolicy: 'delete' }]); // idempotent
    const got: BusRecord[] = [];
    const assigned: number[] = [];
    const sub = await bus.subscribe({
      groupId: uniqueTopic('bus.int.g'),
      topics: [topic],
      handler: async (b) => void got.push(...b.records),
      onAssign: (tps) => void assigned.push(...tps.map((t) => t.partition)),
    });
    expect(assigned.sort()).toEqual([0, 1, 2, 3]);
    const p = await bus.producer({ lingerMs: 5 });
    const keys = Array.from({ length: 12 }, (_, i) => `identity:agent-${i}`);
    for (let round = 0; round < 4; round++) {
      await Promise.all(keys.map((k) => p.send(topic, [rec(k, `${k}#${round}`, { phase: 'REQUEST' })])));
    }
    await waitFor('all records', () => got.length >= 48);
    expect(got).toHaveLength(48);
    for (const r of got) {
      expect(r.partition).toBe(partitionForKey(text(r.key) ?? '', 4));
      expect(r.headers).toEqual({ phase: 'REQUEST' });
    }
    for (const [k, values] of byKey(got)) expect(values).toEqual([0, 1, 2, 3].map((i) => `${k}#${i}`));
    const ends = await bus.endOffsets(topic);
    expect([...ends.values()].reduce((a, b) => a + b, 0n)).toBe(48n);
    await waitFor('committed', async () => (await sub.lag()).every((l) => l.lag === 0n));
    await sub.close();
    await p.close();
  });

  it('redelivers a batch whose handler threw, then commits', async () => {
    const topic = uniqueTopic('bus.int.retry');
    await bus.ensureTopics([{ name: topic, partitions: 1, cleanupPolicy: 'delete' }]);
    const attempts: string[][] = [];
    const groupId = uniqueTopic('bus.int.retry.g');
    const sub = await bus.subscribe({
      groupId,
      topics: [topic],
      handler: async (b: BusBatch) => {
        attempts.push(b.records.map((r) => text(r.value) ?? ''));
        if (attempts.length === 1) throw new Error('sink down');
      },
    });
    const p = await bus.producer();
    await p.send(topic, [rec('k', 'a'), rec('k', 'b')]);
    await waitFor('retried', () => attempts.length >= 2);
    expect(attempts[0]).toEqual(['a', 'b']);
    expect(attempts[1]).toEqual(attempts[0]);
    await waitFor('committed', async () => (await sub.lag()).every((l) => l.lag === 0n));
    await sub.close();
    await p.close();
  });

  it('rebalances between two members and reports revocations', async () => {
    const topic = uniqueTopic('bus.int.rebalance');
    const groupId = uniqueTopic('bus.int.rebalance.g');
    await bus.ensureTopics([{ name: topic, partitions: 4, cleanupPolicy: 'delete' }]);
    const owned = { a: new Set<number>(), b: new Set<number>() };
    const member = (name: 'a' | 'b') =>
      bus.subscribe({
        groupId,
        topics: [topic],
        handler: async () => {},
        onAssign: (tps) => tps.forEach((t) => owned[name].add(t.partition)),
        onRevoke: (tps) => tps.forEach((t) => owned[name].delete(t.partition)),
      });
    const a = await member('a');
    await waitFor('a owns all', () => owned.a.size === 4);
    const b = await member('b');
    await waitFor('split', () => owned.a.size === 2 && owned.b.size === 2);
    expect([...owned.a].filter((p) => owned.b.has(p))).toEqual([]);
    await b.close();
    expect(owned.b.size).toBe(0);
    await waitFor('a owns all again', () => owned.a.size === 4);
    await a.close();
  });

  it('reads a compacted topic to its end, with the tombstone, and handles an empty topic', async () => {
    const topic = uniqueTopic('bus.int.decisions');
    await bus.ensureTopics([{ name: topic, partitions: 3, cleanupPolicy: 'compact' }]);
    let n = 0;
    await bus.readToEnd(topic, () => void n++);
    expect(n).toBe(0);
    const p = await bus.producer();
    await p.send(topic, [rec('credential:a', 'block-1'), rec('credential:b', 'block-1'), rec('credential:a', 'block-2')]);
    await p.send(topic, [rec('credential:b', null)]);
    const view = new Map<string, string>();
    const seen: BusRecord[] = [];
    await bus.readToEnd(topic, (r) => {
      seen.push(r);
      if (r.value === null) view.delete(text(r.key) ?? '');
      else view.set(text(r.key) ?? '', text(r.value) ?? '');
    });
    expect(seen).toHaveLength(4); // the broker has not compacted the active segment yet
    expect(seen.some((r) => text(r.key) === 'credential:b' && r.value === null)).toBe(true);
    expect([...view]).toEqual([['credential:a', 'block-2']]);
    await p.close();
  });

  it('rejects send with PCX_AUDIT_UNAVAILABLE within seconds when no broker listens', async () => {
    const dead = new KafkaBus({ brokers: ['127.0.0.1:1'], clientId: 'bus-int-dead', logger: silentLogger() });
    const p = await dead.producer();
    const err = await p.send('portcullis.events', [rec('k', 'v')]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', retriable: true });
    await dead.close();
  });
});
