import { silentLogger } from '@portcullis/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kafkaBrokers, uniqueTopic } from '../../../test/support/kafka.js';
import type { BusBatch, BusRecord, Subscription } from '../src/bus.js';
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

describe('KafkaBus manual commit against a real broker', () => {
  const values = (records: readonly BusRecord[]) => records.map((r) => text(r.value) ?? '');
  const totalLag = async (sub: Subscription) => (await sub.lag()).reduce((a, l) => a + l.lag, 0n);

  it('commits nothing when handlers resolve or on close; commit() stores, lag follows it, and the next member starts there', async () => {
    const topic = uniqueTopic('bus.int.manual');
    const groupId = uniqueTopic('bus.int.manual.g');
    await bus.ensureTopics([{ name: topic, partitions: 1, cleanupPolicy: 'delete' }]);
    const p = await bus.producer();
    const got: string[] = [];
    const first = await bus.subscribe({ groupId, topics: [topic], commit: 'manual', maxBatch: 2, handler: async (b) => void got.push(...values(b.records)) });
    await p.send(topic, ['a', 'b', 'c', 'd'].map((v) => rec('k', v)));
    await waitFor('all records', () => got.length >= 4);
    await first.close(); // disconnect: anything kafkajs would commit implicitly is committed by now

    // Nothing was committed: a new member reads the partition from its start.
    const again: string[] = [];
    const second = await bus.subscribe({ groupId, topics: [topic], commit: 'manual', handler: async (b) => void again.push(...values(b.records)) });
    await waitFor('everything again', () => again.length >= 4);
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(again).toEqual(['a', 'b', 'c', 'd']);
    expect(await totalLag(second)).toBe(4n);
    await second.commit([{ topic, partition: 0, offset: '1' }]);
    expect(await totalLag(second)).toBe(3n);
    await second.close();

    const third: string[] = [];
    const last = await bus.subscribe({ groupId, topics: [topic], commit: 'manual', handler: async (b) => void third.push(...values(b.records)) });
    await waitFor('from the commit', () => third.length >= 3);
    expect(third).toEqual(['b', 'c', 'd']);
    await last.commit([{ topic, partition: 0, offset: '4' }]);
    expect(await totalLag(last)).toBe(0n);
    await last.close();
    await p.close();
  });

  it('seeks back to the last commit after a handler throws, so batches that succeeded since come again', async () => {
    const topic = uniqueTopic('bus.int.manual.retry');
    const groupId = uniqueTopic('bus.int.manual.retry.g');
    await bus.ensureTopics([{ name: topic, partitions: 1, cleanupPolicy: 'delete' }]);
    const sub: { current?: Subscription } = {};
    const got: string[] = [];
    let thrown = false;
    sub.current = await bus.subscribe({
      groupId,
      topics: [topic],
      commit: 'manual',
      maxBatch: 1,
      handler: async (b) => {
        const v = values(b.records)[0] ?? '';
        got.push(v);
        if (v === '1') await sub.current?.commit([{ topic, partition: 0, offset: '2' }]); // up to and including '1'
        if (v === '4' && !thrown) {
          thrown = true;
          throw new Error('downstream unavailable');
        }
      },
    });
    const p = await bus.producer();
    await p.send(topic, ['0', '1', '2', '3', '4'].map((v) => rec('k', v)));
    await waitFor('re-delivery', () => got.length >= 8);
    expect(got).toEqual(['0', '1', '2', '3', '4', '2', '3', '4']);
    await sub.current.close();
    expect(await totalLag(sub.current)).toBe(3n); // neither the failure, the successes nor close committed

    const later: string[] = [];
    const next = await bus.subscribe({ groupId, topics: [topic], commit: 'manual', handler: async (b) => void later.push(...values(b.records)) });
    await waitFor('from the commit', () => later.length >= 3);
    expect(later).toEqual(['2', '3', '4']);
    await next.close();
    await p.close();
  });

  it('a rebalance commits nothing: the partition that moves is read by the new member from the manual commit', async () => {
    const topic = uniqueTopic('bus.int.manual.rebalance');
    const groupId = uniqueTopic('bus.int.manual.rebalance.g');
    await bus.ensureTopics([{ name: topic, partitions: 2, cleanupPolicy: 'delete' }]);
    const keyOn = (partition: number) => Array.from({ length: 40 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition) ?? 'missing';
    const owned = { a: new Set<number>(), b: new Set<number>() };
    const a: { sub?: Subscription; got: BusRecord[] } = { got: [] };
    a.sub = await bus.subscribe({
      groupId,
      topics: [topic],
      commit: 'manual',
      maxBatch: 1,
      handler: async (batch) => {
        a.got.push(...batch.records);
        const r = batch.records[0];
        if (r?.offset === '1') await a.sub?.commit([{ topic, partition: r.partition, offset: '2' }]);
      },
      onAssign: (tps) => tps.forEach((t) => owned.a.add(t.partition)),
      onRevoke: (tps) => tps.forEach((t) => owned.a.delete(t.partition)),
    });
    await waitFor('a owns both', () => owned.a.size === 2);
    const p = await bus.producer();
    for (const partition of [0, 1]) await p.send(topic, ['0', '1', '2', '3'].map((v) => rec(keyOn(partition), `${partition}:${v}`)));
    await waitFor('a consumes', () => a.got.length >= 8);
    expect(await totalLag(a.sub)).toBe(4n); // 2 of 4 committed on each partition

    const gotB: BusRecord[] = [];
    const b = await bus.subscribe({
      groupId,
      topics: [topic],
      commit: 'manual',
      handler: async (batch) => void gotB.push(...batch.records),
      onAssign: (tps) => tps.forEach((t) => owned.b.add(t.partition)),
      onRevoke: (tps) => tps.forEach((t) => owned.b.delete(t.partition)),
    });
    await waitFor('split', () => owned.a.size === 1 && owned.b.size === 1);
    const moved = [...owned.b][0] ?? -1;
    const kept = [...owned.a][0] ?? -1;
    await waitFor('b reads from the commit', () => gotB.length >= 2);
    expect(gotB.map((r) => text(r.value))).toEqual([`${moved}:2`, `${moved}:3`]);
    // The kept partition may come again from its commit (a new generation restarts there), never from earlier.
    const keptOffsets = a.got.filter((r) => r.partition === kept).map((r) => r.offset);
    expect(keptOffsets.slice(0, 4)).toEqual(['0', '1', '2', '3']);
    for (const o of keptOffsets.slice(4)) expect(['2', '3']).toContain(o);
    await expect(a.sub.commit([{ topic, partition: moved, offset: '4' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', context: { reason: 'not-owner' } });
    await b.close();
    await a.sub.close();
    expect((await a.sub.lag()).find((l) => l.partition === moved)?.lag).toBe(2n);
    await p.close();
  });

  it('a member that gets a partition back restarts it after a failure from the commit made meanwhile, not from where it first read it', async () => {
    const topic = uniqueTopic('bus.int.manual.back');
    const groupId = uniqueTopic('bus.int.manual.back.g');
    await bus.ensureTopics([{ name: topic, partitions: 2, cleanupPolicy: 'delete' }]);
    const keyOn = (partition: number) => Array.from({ length: 40 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === partition) ?? 'missing';
    const owned = { a: new Set<number>(), b: new Set<number>() };
    const gotA: BusRecord[] = [];
    let failOn = '';
    const a = await bus.subscribe({
      groupId,
      topics: [topic],
      commit: 'manual',
      maxBatch: 1,
      handler: async (batch) => {
        gotA.push(...batch.records);
        const v = text(batch.records[0]?.value ?? null);
        if (v === failOn) {
          failOn = '';
          throw new Error('downstream unavailable');
        }
      },
      onAssign: (tps) => tps.forEach((t) => owned.a.add(t.partition)),
      onRevoke: (tps) => tps.forEach((t) => owned.a.delete(t.partition)),
    });
    await waitFor('a owns both', () => owned.a.size === 2);
    const p = await bus.producer();
    for (const partition of [0, 1]) await p.send(topic, ['0', '1', '2', '3'].map((v) => rec(keyOn(partition), `${partition}:${v}`)));
    await waitFor('a reads everything, committing nothing', () => gotA.length >= 8);

    const b: { sub?: Subscription; got: BusRecord[] } = { got: [] };
    b.sub = await bus.subscribe({
      groupId,
      topics: [topic],
      commit: 'manual',
      handler: async (batch) => {
        b.got.push(...batch.records);
        const r = batch.records[batch.records.length - 1];
        if (r) await b.sub?.commit([{ topic, partition: r.partition, offset: String(Number(r.offset) + 1) }]);
      },
      onAssign: (tps) => tps.forEach((t) => owned.b.add(t.partition)),
      onRevoke: (tps) => tps.forEach((t) => owned.b.delete(t.partition)),
    });
    await waitFor('split', () => owned.a.size === 1 && owned.b.size === 1);
    const moved = [...owned.b][0] ?? -1;
    await waitFor('b reads the moved partition from the start (nothing was committed)', () => b.got.length >= 4);
    expect(b.got.map((r) => text(r.value))).toEqual(['0', '1', '2', '3'].map((v) => `${moved}:${v}`));
    await b.sub.close(); // b committed 4 on the moved partition
    await waitFor('a owns both again', () => owned.a.size === 2);

    const before = gotA.length;
    failOn = `${moved}:5`;
    await p.send(topic, ['4', '5'].map((v) => rec(keyOn(moved), `${moved}:${v}`)));
    const movedAfter = () => gotA.slice(before).filter((r) => r.partition === moved).map((r) => text(r.value));
    await waitFor('a fails once and gets the partition again', () => movedAfter().length >= 4);
    expect(movedAfter()).toEqual(['4', '5', '4', '5'].map((v) => `${moved}:${v}`));
    await a.close();
    await p.close();
  });

  it('refuses commits for partitions the member does not own, after close, on batch subscriptions and for bad offsets', async () => {
    const topic = uniqueTopic('bus.int.manual.refuse');
    await bus.ensureTopics([{ name: topic, partitions: 1, cleanupPolicy: 'delete' }]);
    const sub = await bus.subscribe({ groupId: uniqueTopic('bus.int.manual.refuse.g'), topics: [topic], commit: 'manual', handler: async () => {} });
    await expect(sub.commit([{ topic, partition: 3, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', message: expect.stringContaining(`${topic}/3`) });
    await expect(sub.commit([{ topic: 'bus.int.not-subscribed', partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', context: { reason: 'not-owner' } });
    await expect(sub.commit([{ topic, partition: 0, offset: 'x' }])).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
    await sub.commit([]);
    await sub.commit([{ topic, partition: 0, offset: '0' }]);
    await sub.close();
    await expect(sub.commit([{ topic, partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', context: { reason: 'not-owner' } });
    const batchMode = await bus.subscribe({ groupId: uniqueTopic('bus.int.manual.refuse.g2'), topics: [topic], handler: async () => {} });
    await expect(batchMode.commit([{ topic, partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
    await batchMode.close();
  });
});
