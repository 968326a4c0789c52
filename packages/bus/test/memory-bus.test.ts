import { MetricsRegistry, silentLogger } from '@portcullis/common';
import { describe, expect, it } from 'vitest';
import type { BusBatch, BusRecord, Subscription } from '../src/bus.js';
import { MemoryBus } from '../src/memory-bus.js';
import { partitionForKey } from '../src/partitioner.js';
import { byKey, text, waitFor } from './helpers.js';

const rec = (key: string | null, value: string | null) => ({ key, value: value === null ? null : Buffer.from(value) });

async function busWith(topic: string, partitions: number, cleanupPolicy: 'delete' | 'compact' = 'delete', extra: Partial<ConstructorParameters<typeof MemoryBus>[0]> = {}) {
  const bus = new MemoryBus({ logger: silentLogger(), retry: { initialMs: 5, maxMs: 20 }, ...extra });
  await bus.ensureTopics([{ name: topic, partitions, cleanupPolicy }]);
  return bus;
}

describe('MemoryBus producing and consuming', () => {
  it('places keys by murmur2 like Kafka and keeps per-key order', async () => {
    const bus = await busWith('t', 6);
    const got: BusRecord[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], handler: async (b) => void got.push(...b.records) });
    const p = await bus.producer();
    const keys = Array.from({ length: 30 }, (_, i) => `identity:agent-${i}`);
    for (let round = 0; round < 5; round++) await p.send('t', keys.map((k) => rec(k, `${k}#${round}`)));
    await waitFor('all records', () => got.length === 150);
    for (const r of got) expect(r.partition).toBe(partitionForKey(text(r.key) ?? '', 6));
    for (const [k, values] of byKey(got)) expect(values).toEqual([0, 1, 2, 3, 4].map((i) => `${k}#${i}`));
    const ends = await bus.endOffsets('t');
    expect([...ends.values()].reduce((a, b) => a + b, 0n)).toBe(150n);
    await bus.close();
  });

  it('never delivers inside send', async () => {
    const bus = await busWith('t', 1);
    let insideSend = false;
    let deliveredInside = false;
    let delivered = 0;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async (b) => {
        if (insideSend) deliveredInside = true;
        delivered += b.records.length;
      },
    });
    const p = await bus.producer();
    insideSend = true;
    const sent = p.send('t', [rec('k', 'v')]);
    insideSend = false;
    await sent;
    await waitFor('delivery', () => delivered === 1);
    expect(deliveredInside).toBe(false);
    await bus.close();
  });

  it('rejects unknown topics and keyless records on compacted topics with stable codes', async () => {
    const bus = await busWith('c', 1, 'compact');
    const p = await bus.producer();
    await expect(p.send('nope', [rec('k', 'v')])).rejects.toMatchObject({ code: 'PCX_NOT_FOUND' });
    await expect(p.send('c', [rec(null, 'v')])).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
    await expect(bus.subscribe({ groupId: 'g', topics: ['nope'], handler: async () => {} })).rejects.toMatchObject({ code: 'PCX_NOT_FOUND' });
    await bus.close();
  });
});

describe('MemoryBus consumer groups', () => {
  it('splits partitions across members and rebalances on join and leave, with onAssign/onRevoke', async () => {
    const bus = await busWith('t', 4);
    const events: string[] = [];
    const member = (name: string) => {
      const owned = new Set<number>();
      const got: BusRecord[] = [];
      return {
        owned,
        got,
        opts: {
          groupId: 'g',
          topics: ['t'] as const,
          handler: async (b: BusBatch) => {
            expect(owned.has(b.partition)).toBe(true); // onAssign ran before the first batch
            got.push(...b.records);
          },
          onAssign: (tps: ReadonlyArray<{ partition: number }>) => {
            for (const tp of tps) owned.add(tp.partition);
            events.push(`${name}+${tps.map((t) => t.partition).join(',')}`);
          },
          onRevoke: (tps: ReadonlyArray<{ partition: number }>) => {
            for (const tp of tps) owned.delete(tp.partition);
            events.push(`${name}-${tps.map((t) => t.partition).join(',')}`);
          },
        },
      };
    };
    const a = member('a');
    const b = member('b');
    await bus.subscribe(a.opts);
    expect([...a.owned].sort()).toEqual([0, 1, 2, 3]);
    const subB = await bus.subscribe(b.opts);
    expect(a.owned.size).toBe(2);
    expect(b.owned.size).toBe(2);
    expect([...a.owned].filter((p) => b.owned.has(p))).toEqual([]);

    const producer = await bus.producer();
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`);
    await producer.send('t', keys.map((k) => rec(k, `${k}:1`)));
    await waitFor('both consume', () => a.got.length + b.got.length === 40);
    for (const r of a.got) expect(a.owned.has(r.partition)).toBe(true);
    for (const r of b.got) expect(b.owned.has(r.partition)).toBe(true);

    await subB.close();
    expect([...a.owned].sort()).toEqual([0, 1, 2, 3]);
    expect(b.owned.size).toBe(0);
    await producer.send('t', keys.map((k) => rec(k, `${k}:2`)));
    await waitFor('a takes over', () => a.got.length + b.got.length === 80);
    // Nothing was delivered twice: b committed what it handled before it left.
    expect(new Set([...a.got, ...b.got].map((r) => `${r.partition}/${r.offset}`)).size).toBe(80);
    expect(events[0]).toBe('a+0,1,2,3');
    expect(events.filter((e) => e.startsWith('b-'))).toHaveLength(1);
    await bus.close();
  });

  it('moves a partition only after the old owner finished its in-flight batch', async () => {
    const bus = await busWith('t', 1);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const order: string[] = [];
    let started = false;
    const subA = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async (b) => {
        started = true;
        order.push(`a:start:${b.records.length}`);
        await gate;
        order.push(`a:end:running=${b.isRunning()}`);
      },
      onRevoke: () => void order.push('a:revoked'),
    });
    const p = await bus.producer();
    await p.send('t', [rec('k', '1')]);
    await waitFor('a starts', () => started);
    const closing = subA.close();
    const gotB: BusRecord[] = [];
    const joining = bus.subscribe({ groupId: 'g', topics: ['t'], handler: async (b) => void gotB.push(...b.records), onAssign: () => void order.push('b:assigned') });
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(['a:start:1']);
    release();
    await Promise.all([closing, joining]);
    await p.send('t', [rec('k', '2')]);
    await waitFor('b consumes', () => gotB.length >= 1);
    expect(order).toEqual(['a:start:1', 'a:end:running=false', 'a:revoked', 'b:assigned']);
    // The batch a handled was committed; b starts after it.
    expect(gotB.map((r) => text(r.value))).toEqual(['2']);
    await bus.close();
  });

  it('delivers a batch again after its handler throws, and commits only after success', async () => {
    const bus = await busWith('t', 1);
    const attempts: string[][] = [];
    const sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async (b) => {
        attempts.push(b.records.map((r) => text(r.value) ?? ''));
        if (attempts.length <= 2) throw new Error('downstream unavailable');
      },
    });
    const p = await bus.producer();
    await p.send('t', [rec('k', 'a'), rec('k', 'b')]);
    await waitFor('success', () => attempts.length === 3);
    expect(attempts).toEqual([
      ['a', 'b'],
      ['a', 'b'],
      ['a', 'b'],
    ]);
    await waitFor('committed', async () => (await sub.lag()).every((l) => l.lag === 0n));
    await sub.close();
    // A new member of the same group starts after the committed offset.
    const later: string[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], handler: async (b) => void later.push(...b.records.map((r) => text(r.value) ?? '')) });
    await p.send('t', [rec('k', 'c')]);
    await waitFor('c', () => later.length === 1);
    expect(later).toEqual(['c']);
    await bus.close();
  });

  it('retries a failed batch even when the backoff timer fires before the clock reaches the retry time', async () => {
    // A coarse clock makes every backoff timer fire "early" by the bus's own clock, as a
    // monotonic timer can against Date.now(); the retry must still happen.
    const bus = await busWith('t', 1, 'delete', { now: () => Math.floor(Date.now() / 200) * 200 });
    let attempts = 0;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      handler: async () => {
        attempts++;
        if (attempts === 1) throw new Error('downstream unavailable');
      },
    });
    const p = await bus.producer();
    await p.send('t', [rec('k', 'a')]);
    await waitFor('retried', () => attempts === 2);
    await bus.close();
  });

  it('keeps committed offsets per group; fromBeginning false starts at the end', async () => {
    const bus = await busWith('t', 2);
    const p = await bus.producer();
    await p.send('t', [rec('a', '1'), rec('b', '2')]);
    const early: BusRecord[] = [];
    const late: BusRecord[] = [];
    await bus.subscribe({ groupId: 'early', topics: ['t'], handler: async (b) => void early.push(...b.records) });
    await bus.subscribe({ groupId: 'late', topics: ['t'], fromBeginning: false, handler: async (b) => void late.push(...b.records) });
    await p.send('t', [rec('a', '3')]);
    await waitFor('both groups', () => early.length === 3 && late.length === 1);
    expect(text(late[0]?.value ?? null)).toBe('3');
    await bus.close();
  });

  it('pause stops delivery and reports lag; resume delivers the backlog', async () => {
    const bus = await busWith('t', 2);
    const got: BusRecord[] = [];
    const sub = await bus.subscribe({ groupId: 'g', topics: ['t'], maxBatch: 3, handler: async (b) => void got.push(...b.records) });
    sub.pause();
    const p = await bus.producer();
    await p.send('t', Array.from({ length: 10 }, (_, i) => rec(`k${i}`, `${i}`)));
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toHaveLength(0);
    const lag = await sub.lag();
    expect(lag.reduce((a, l) => a + l.lag, 0n)).toBe(10n);
    sub.resume();
    await waitFor('backlog', () => got.length === 10);
    await waitFor('no lag', async () => (await sub.lag()).every((l) => l.lag === 0n));
    await bus.close();
  });
});

describe('MemoryBus compaction and retention', () => {
  it('keeps the latest value per key, keeps a tombstone for readers, and forgets it after tombstone retention', async () => {
    let now = 1_000_000;
    const bus = await busWith('d', 1, 'compact', { now: () => now, tombstoneRetentionMs: 60_000 });
    const p = await bus.producer();
    await p.send('d', [rec('credential:a', 'v1'), rec('credential:b', 'v1'), rec('credential:a', 'v2'), rec('credential:c', 'v1')]);
    await p.send('d', [rec('credential:b', null)]);
    const seen: BusRecord[] = [];
    await bus.readToEnd('d', (r) => void seen.push(r));
    const view = byKey(seen);
    expect(view.get('credential:a')).toEqual(['v2']);
    expect(view.get('credential:b')).toEqual(['<tombstone>']);
    expect(view.get('credential:c')).toEqual(['v1']);

    now += 120_000;
    await p.send('d', [rec('credential:z', 'v1')]); // compaction runs on append
    const after: BusRecord[] = [];
    await bus.readToEnd('d', (r) => void after.push(r));
    expect(byKey(after).has('credential:b')).toBe(false);
    expect(after).toHaveLength(3);
    expect(byKey(after).get('credential:a')).toEqual(['v2']);
    await bus.close();
  });

  it('a group consumer that lags still sees the tombstone for a value it read', async () => {
    const bus = await busWith('d', 1, 'compact');
    const p = await bus.producer();
    const views = new Map<string, string>();
    const sub = await bus.subscribe({
      groupId: 'view',
      topics: ['d'],
      handler: async (b) => {
        for (const r of b.records) {
          if (r.value === null) views.delete(text(r.key) ?? '');
          else views.set(text(r.key) ?? '', text(r.value) ?? '');
        }
      },
    });
    await p.send('d', [rec('k', 'block')]);
    await waitFor('block', () => views.get('k') === 'block');
    sub.pause();
    await p.send('d', [rec('k', 'block2'), rec('k', null)]);
    sub.resume();
    await waitFor('lifted', () => !views.has('k'));
    await bus.close();
  });

  it('readToEnd reads up to the end at call time and handles empty topics', async () => {
    const bus = await busWith('e', 2);
    let n = 0;
    await bus.readToEnd('e', () => void n++);
    expect(n).toBe(0);
    const p = await bus.producer();
    await p.send('e', [rec('a', '1'), rec('b', '2'), rec(null, '3')]);
    await bus.readToEnd('e', async () => {
      n++;
      await p.send('e', [rec('x', 'appended during read')]);
    });
    expect(n).toBe(3);
    await bus.close();
  });

  it('evicts the oldest records beyond the per-partition cap and counts them', async () => {
    const metrics = new MetricsRegistry();
    const bus = await busWith('r', 1, 'delete', { maxRecordsPerPartition: 100, metrics });
    const p = await bus.producer();
    for (let i = 0; i < 10; i++) await p.send('r', Array.from({ length: 50 }, (_, j) => rec(null, String(i * 50 + j))));
    const seen: string[] = [];
    await bus.readToEnd('r', (r) => void seen.push(text(r.value) ?? ''));
    expect(seen).toHaveLength(100);
    expect(seen[0]).toBe('400');
    expect(seen[99]).toBe('499');
    expect(metrics.counter('portcullis_bus_memory_evicted_total', '').get({ topic: 'r' })).toBe(400);
    // A group that starts now begins at the log start, not at a lost offset.
    const got: string[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['r'], handler: async (b) => void got.push(...b.records.map((r) => text(r.value) ?? '')) });
    await waitFor('retained records', () => got.length === 100);
    expect(got[0]).toBe('400');
    await bus.close();
  });
});

describe('MemoryBus manual commit', () => {
  const values = (records: readonly BusRecord[]) => records.map((r) => text(r.value) ?? '');
  const totalLag = async (sub: Subscription) => (await sub.lag()).reduce((a, l) => a + l.lag, 0n);

  it('commits nothing when handlers resolve or on close; commit() stores, lag follows it, and the next member starts there', async () => {
    const bus = await busWith('t', 1);
    const p = await bus.producer();
    const got: string[] = [];
    const sub = await bus.subscribe({ groupId: 'g', topics: ['t'], commit: 'manual', maxBatch: 2, handler: async (b) => void got.push(...values(b.records)) });
    await p.send('t', ['a', 'b', 'c', 'd'].map((v) => rec('k', v)));
    await waitFor('all records', () => got.length === 4);
    expect(got).toEqual(['a', 'b', 'c', 'd']);
    expect(await totalLag(sub)).toBe(4n); // two batches resolved, nothing committed
    await sub.commit([{ topic: 't', partition: 0, offset: '1' }]);
    expect(await totalLag(sub)).toBe(3n);
    await sub.close();

    const again: string[] = [];
    const next = await bus.subscribe({ groupId: 'g', topics: ['t'], commit: 'manual', handler: async (b) => void again.push(...values(b.records)) });
    await waitFor('from the commit', () => again.length === 3);
    expect(again).toEqual(['b', 'c', 'd']);
    await next.commit([{ topic: 't', partition: 0, offset: '4' }]);
    expect(await totalLag(next)).toBe(0n);
    await bus.close();
  });

  it('delivers the partition again from the last commit after a handler throws, including batches that succeeded since', async () => {
    const bus = await busWith('t', 1);
    const p = await bus.producer();
    const sub: { current?: Subscription } = {};
    const got: string[] = [];
    let thrown = false;
    sub.current = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      commit: 'manual',
      maxBatch: 1,
      handler: async (b) => {
        const v = values(b.records)[0] ?? '';
        got.push(v);
        if (v === '1') await sub.current?.commit([{ topic: 't', partition: 0, offset: '2' }]); // up to and including '1'
        if (v === '4' && !thrown) {
          thrown = true;
          throw new Error('downstream unavailable');
        }
      },
    });
    await p.send('t', ['0', '1', '2', '3', '4'].map((v) => rec('k', v)));
    await waitFor('re-delivery', () => got.length === 8);
    expect(got).toEqual(['0', '1', '2', '3', '4', '2', '3', '4']);
    expect(await totalLag(sub.current)).toBe(3n); // neither the failure nor the success after it committed
    await sub.current.close();

    const later: string[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], commit: 'manual', handler: async (b) => void later.push(...values(b.records)) });
    await waitFor('from the commit', () => later.length === 3);
    expect(later).toEqual(['2', '3', '4']);
    await bus.close();
  });

  it('a batch-mode handler that throws still gets only the failed batch again', async () => {
    const bus = await busWith('t', 1);
    const p = await bus.producer();
    const got: string[] = [];
    let thrown = false;
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      maxBatch: 1,
      handler: async (b) => {
        const v = values(b.records)[0] ?? '';
        got.push(v);
        if (v === '2' && !thrown) {
          thrown = true;
          throw new Error('downstream unavailable');
        }
      },
    });
    await p.send('t', ['0', '1', '2', '3'].map((v) => rec('k', v)));
    await waitFor('all', () => got.length === 5);
    expect(got).toEqual(['0', '1', '2', '2', '3']);
    await bus.close();
  });

  it('a partition that moves to a new member is read from the last commit, not from where the old owner got to', async () => {
    const bus = await busWith('t', 2);
    const p = await bus.producer();
    // Partition 1 moves to the second member (balanced by count, earliest member first).
    const keys = Array.from({ length: 40 }, (_, i) => `k${i}`).filter((k) => partitionForKey(k, 2) === 1);
    const key = keys[0] ?? 'missing';
    const a: { sub?: Subscription; got: string[]; revoked: number[] } = { got: [], revoked: [] };
    a.sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      commit: 'manual',
      maxBatch: 1,
      handler: async (b) => {
        const v = values(b.records)[0] ?? '';
        a.got.push(v);
        if (v === '1') await a.sub?.commit([{ topic: 't', partition: 1, offset: '2' }]);
      },
      onRevoke: (tps) => void a.revoked.push(...tps.map((t) => t.partition)),
    });
    await p.send('t', ['0', '1', '2', '3'].map((v) => rec(key, v)));
    await waitFor('a consumes', () => a.got.length === 4);

    const gotB: BusRecord[] = [];
    await bus.subscribe({ groupId: 'g', topics: ['t'], commit: 'manual', handler: async (b) => void gotB.push(...b.records) });
    expect(a.revoked).toEqual([1]);
    await waitFor('b reads from the commit', () => gotB.length === 2);
    expect(gotB.map((r) => `${r.partition}:${text(r.value)}`)).toEqual(['1:2', '1:3']);
    // a does not own partition 1 any more: its commit is refused, and nothing moved.
    await expect(a.sub.commit([{ topic: 't', partition: 1, offset: '4' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', context: { reason: 'not-owner' } });
    expect((await a.sub.lag()).find((l) => l.partition === 1)?.lag).toBe(2n);
    await bus.close();
  });

  it('a member that gets a partition back restarts it after a failure from the commit made meanwhile, not from where it first read it', async () => {
    const bus = await busWith('t', 2);
    const p = await bus.producer();
    const key = Array.from({ length: 40 }, (_, i) => `k${i}`).find((k) => partitionForKey(k, 2) === 1) ?? 'missing';
    const gotA: string[] = [];
    let failOn = '';
    await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      commit: 'manual',
      maxBatch: 1,
      handler: async (b) => {
        const v = values(b.records)[0] ?? '';
        gotA.push(v);
        if (v === failOn) {
          failOn = '';
          throw new Error('downstream unavailable');
        }
      },
    });
    await p.send('t', ['0', '1', '2', '3'].map((v) => rec(key, v)));
    await waitFor('a reads everything, committing nothing', () => gotA.length === 4);

    // Partition 1 moves to b, which reads it from the start and commits all of it, then leaves.
    const b: { sub?: Subscription; got: string[] } = { got: [] };
    b.sub = await bus.subscribe({
      groupId: 'g',
      topics: ['t'],
      commit: 'manual',
      handler: async (batch) => {
        b.got.push(...values(batch.records));
        const r = batch.records[batch.records.length - 1];
        if (r) await b.sub?.commit([{ topic: 't', partition: r.partition, offset: String(Number(r.offset) + 1) }]);
      },
    });
    await waitFor('b reads the moved partition', () => b.got.length === 4);
    await b.sub.close();

    failOn = '5';
    await p.send('t', ['4', '5'].map((v) => rec(key, v)));
    await waitFor('a fails once and gets the partition again', () => gotA.length === 8);
    expect(gotA.slice(4)).toEqual(['4', '5', '4', '5']);
    await bus.close();
  });

  it('refuses commits for partitions the member does not own, after close, on batch subscriptions and for bad offsets', async () => {
    const bus = await busWith('t', 1);
    await bus.ensureTopics([{ name: 'other', partitions: 1, cleanupPolicy: 'delete' }]);
    const sub = await bus.subscribe({ groupId: 'g', topics: ['t'], commit: 'manual', handler: async () => {} });
    await expect(sub.commit([{ topic: 'other', partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', message: expect.stringContaining('other/0') });
    await expect(sub.commit([{ topic: 't', partition: 3, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', message: expect.stringContaining('t/3') });
    await expect(sub.commit([{ topic: 't', partition: 0, offset: '-1' }])).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
    await sub.commit([]);
    await sub.close();
    await expect(sub.commit([{ topic: 't', partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE', context: { reason: 'not-owner' } });
    const batchMode = await bus.subscribe({ groupId: 'g2', topics: ['t'], handler: async () => {} });
    await expect(batchMode.commit([{ topic: 't', partition: 0, offset: '0' }])).rejects.toMatchObject({ code: 'PCX_BAD_REQUEST' });
    await bus.close();
  });
});
