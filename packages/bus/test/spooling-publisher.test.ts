import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, PcxError, silentLogger } from '@portcullis/common';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus, BusProducer, BusRecord } from '../src/bus.js';
import { MemoryBus } from '../src/memory-bus.js';
import { createSpoolingPublisher } from '../src/spooling-publisher.js';
import { byKey, text, waitFor } from './helpers.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function spoolDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pcx-spool-'));
  dirs.push(d);
  return d;
}

/** A real in-process bus whose producers fail while `down` is set, as a broker outage does. */
class SwitchableBus {
  down = false;
  constructor(readonly inner: MemoryBus) {}
  asBus(): Bus {
    const outer = this; // eslint-disable-line @typescript-eslint/no-this-alias
    return {
      kind: 'memory',
      ensureTopics: (s) => this.inner.ensureTopics(s),
      subscribe: (o) => this.inner.subscribe(o),
      readToEnd: (t, f) => this.inner.readToEnd(t, f),
      endOffsets: (t) => this.inner.endOffsets(t),
      close: () => this.inner.close(),
      producer: async (o): Promise<BusProducer> => {
        const p = await this.inner.producer(o);
        return {
          send: async (topic, records) => {
            if (outer.down) throw new PcxError('PCX_AUDIT_UNAVAILABLE', 'broker down');
            await p.send(topic, records);
          },
          flush: () => p.flush(),
          close: () => p.close(),
        };
      },
    };
  }
}

async function setup() {
  const inner = new MemoryBus({ logger: silentLogger() });
  await inner.ensureTopics([{ name: 'ev', partitions: 3, cleanupPolicy: 'delete' }]);
  return new SwitchableBus(inner);
}

const ev = (key: string, value: string) => ({ key, value: Buffer.from(value), headers: { h: 'v' } });

async function readAll(bus: MemoryBus): Promise<BusRecord[]> {
  const out: BusRecord[] = [];
  await bus.readToEnd('ev', (r) => void out.push(r));
  return out;
}

describe('SpoolingPublisher', () => {
  it('publishes directly while the broker is up and acks strict records', async () => {
    const sb = await setup();
    const pub = await createSpoolingPublisher(sb.asBus(), { dir: spoolDir(), maxBytes: 1 << 20, logger: silentLogger() });
    for (let i = 0; i < 10; i++) pub.publish('ev', ev(`k${i % 3}`, String(i)));
    await pub.publishAcked('ev', ev('k0', 'strict'), 5_000);
    const got = await readAll(sb.inner);
    expect(got).toHaveLength(11);
    expect(got[0]?.headers).toEqual({ h: 'v' });
    expect(pub.stats()).toMatchObject({ delivered: 11, spooledRecords: 0, dropped: 0, queued: 0 });
    await pub.close();
  });

  it('spools during an outage, rejects strict records in time, and delivers everything in order afterwards', async () => {
    const sb = await setup();
    const pub = await createSpoolingPublisher(sb.asBus(), { dir: spoolDir(), maxBytes: 1 << 20, logger: silentLogger(), retryMs: 10, retryMaxMs: 50 });
    sb.down = true;
    for (let i = 0; i < 100; i++) pub.publish('ev', ev(`k${i % 4}`, String(i)));
    const strict = pub.publishAcked('ev', ev('k0', 'strict'), 100);
    await expect(strict).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE' });
    await waitFor('spooled', () => pub.stats().spooledRecords === 101);
    for (let i = 100; i < 150; i++) pub.publish('ev', ev(`k${i % 4}`, String(i)));
    sb.down = false;
    await waitFor('drained', () => pub.stats().spooledRecords === 0 && pub.stats().queued === 0);
    const perKey = byKey(await readAll(sb.inner));
    for (let k = 0; k < 4; k++) {
      const want: string[] = [];
      for (let i = 0; i < 150; i++) {
        if (i % 4 === k) want.push(String(i));
        if (i === 99 && k === 0) want.push('strict');
      }
      expect(perKey.get(`k${k}`)).toEqual(want);
    }
    expect(pub.stats().dropped).toBe(0);
    await pub.close();
  });

  it('drops the newest records beyond maxBytes and counts them', async () => {
    const sb = await setup();
    const metrics = new MetricsRegistry();
    const pub = await createSpoolingPublisher(sb.asBus(), { dir: spoolDir(), maxBytes: 4096, logger: silentLogger(), retryMs: 10_000, metrics });
    sb.down = true;
    pub.publish('ev', ev('k', 'first'));
    await waitFor('spooling', () => pub.stats().spooledRecords === 1);
    for (let i = 0; i < 200; i++) pub.publish('ev', ev('k', `${i}`.padStart(100, '0')));
    const s = pub.stats();
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.spooledRecords + s.dropped).toBe(201);
    expect(metrics.render()).toContain('portcullis_bus_publish_dropped_total{reason="spool full"}');
    await expect(pub.publishAcked('ev', ev('k', 'x'), 1_000)).rejects.toMatchObject({ code: 'PCX_AUDIT_UNAVAILABLE' });
    await pub.close();
  });

  it('keeps the spool across a restart and delivers it first, truncating a torn tail', async () => {
    const sb = await setup();
    const dir = spoolDir();
    sb.down = true;
    const first = await createSpoolingPublisher(sb.asBus(), { dir, maxBytes: 1 << 20, logger: silentLogger(), retryMs: 10_000, closeTimeoutMs: 100 });
    for (let i = 0; i < 30; i++) first.publish('ev', ev('k', String(i)));
    await first.close();
    expect(first.stats().spooledRecords).toBe(30);
    // A crash in the middle of a write leaves half a frame behind.
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg')) ?? '';
    appendFileSync(join(dir, seg), Buffer.from([0, 0, 0, 40, 1, 2, 3]));

    sb.down = false;
    const second = await createSpoolingPublisher(sb.asBus(), { dir, maxBytes: 1 << 20, logger: silentLogger() });
    expect(second.stats().spooledRecords).toBe(30);
    second.publish('ev', ev('k', 'after restart'));
    await waitFor('delivered', () => second.stats().delivered === 31);
    const values = (await readAll(sb.inner)).map((r) => text(r.value));
    expect(values).toEqual([...Array.from({ length: 30 }, (_, i) => String(i)), 'after restart']);
    await second.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
  });

  it('never throws from publish, even after close', async () => {
    const sb = await setup();
    const pub = await createSpoolingPublisher(sb.asBus(), { dir: spoolDir(), maxBytes: 1 << 20, logger: silentLogger() });
    await pub.close();
    expect(() => pub.publish('ev', ev('k', 'late'))).not.toThrow();
    expect(pub.stats().dropped).toBe(1);
  });
});
