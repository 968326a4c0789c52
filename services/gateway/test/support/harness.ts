import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino, type Logger } from 'pino';
import type { Bus, BusRecord } from '@portcullis/bus';
import { decodeEvent, type AccessEvent } from '@portcullis/proto';
import { PcxError } from '@portcullis/common';
import { expect } from 'vitest';

export const PG_BASE = { host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' };

export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}

/** A pino logger writing JSON lines into memory, so a test can search every line. */
export function memoryLogger(): { logger: Logger; text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => chunks.join('') };
}

export async function withPg<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client(PG_BASE);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** All events on a topic so far. */
export async function readEvents(bus: Bus, topic: string): Promise<Array<{ record: BusRecord; event: AccessEvent }>> {
  const out: Array<{ record: BusRecord; event: AccessEvent }> = [];
  await bus.readToEnd(topic, (r) => {
    if (r.value) out.push({ record: r, event: decodeEvent(r.value) });
  });
  return out;
}

/** Polls until `check` returns a value, or fails after `timeoutMs` with the last reason. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The REQUEST and RESPONSE events of one request, once both (or `phases`) have arrived. */
export async function eventsOf(bus: Bus, topic: string, requestId: string, phases = 2): Promise<AccessEvent[]> {
  return eventually(async () => {
    const evs = (await readEvents(bus, topic)).map((e) => e.event).filter((e) => e.requestId === requestId);
    return evs.length >= phases ? evs.sort((a, b) => a.phase - b.phase) : undefined;
  }, `${phases} events for ${requestId}`);
}

/** The PcxError a call was refused with; fails the test if it resolved or threw something else. */
export async function denial(p: Promise<unknown>): Promise<PcxError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(PcxError);
  return e as PcxError;
}
