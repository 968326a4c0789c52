import { describe, it, expect } from 'vitest';
import { TableWriter } from '../src/index.js';

// The writer's batching and retry logic with an in-memory store function: the real
// ClickHouse path is covered by sink.int.test.ts.
function store(opts: { failFirst?: number } = {}) {
  const batches: object[][] = [];
  let failures = opts.failFirst ?? 0;
  return {
    batches,
    insert: async (rows: object[]) => {
      if (failures > 0) {
        failures--;
        throw new Error('store down');
      }
      batches.push([...rows]);
    },
  };
}

describe('TableWriter', () => {
  it('flushes at once when batchRows is reached and resolves only after the insert', async () => {
    const s = store();
    const w = new TableWriter({ table: 'events', batchRows: 3, flushMs: 60_000, retry: { initialMs: 1, maxMs: 2 }, insert: s.insert });
    const a = w.add([{ i: 1 }, { i: 2 }]);
    expect(s.batches).toEqual([]);
    const b = w.add([{ i: 3 }]);
    expect(a).toBe(b);
    await a;
    expect(s.batches).toEqual([[{ i: 1 }, { i: 2 }, { i: 3 }]]);
    await w.close();
  });

  it('flushes a partial buffer after flushMs', async () => {
    const s = store();
    const w = new TableWriter({ table: 'events', batchRows: 1_000, flushMs: 5, retry: { initialMs: 1, maxMs: 2 }, insert: s.insert });
    await w.add([{ i: 1 }]);
    expect(s.batches).toEqual([[{ i: 1 }]]);
    await w.close();
  });

  it('holds the batch through failures, retrying until the store answers, and counts retries', async () => {
    const s = store({ failFirst: 3 });
    const retried: number[] = [];
    let recoveredAfter = 0;
    const w = new TableWriter({
      table: 'events',
      batchRows: 2,
      flushMs: 60_000,
      retry: { initialMs: 1, maxMs: 4 },
      insert: s.insert,
      onRetry: (_e, attempt) => retried.push(attempt),
      onRecover: (attempts) => (recoveredAfter = attempts),
    });
    const first = w.add([{ i: 1 }, { i: 2 }]);
    expect(w.buffered).toBe(2);
    // Rows arriving during the outage wait in the next batch.
    const second = w.add([{ i: 3 }, { i: 4 }]);
    await Promise.all([first, second]);
    expect(retried).toEqual([1, 2, 3]);
    expect(recoveredAfter).toBe(4);
    expect(s.batches).toEqual([[{ i: 1 }, { i: 2 }], [{ i: 3 }, { i: 4 }]]);
    expect(w.inOutage).toBe(false);
    await w.close();
  });

  it('on close makes one last attempt, rejects what cannot be written and refuses new rows', async () => {
    const s = store({ failFirst: 1_000 });
    const w = new TableWriter({ table: 'events', batchRows: 1, flushMs: 60_000, retry: { initialMs: 60_000, maxMs: 60_000 }, insert: s.insert });
    const p = w.add([{ i: 1 }]);
    await new Promise((r) => setTimeout(r, 5));
    expect(w.inOutage).toBe(true);
    await w.close();
    await expect(p).rejects.toMatchObject({ code: 'PCX_STORE_UNAVAILABLE' });
    await expect(w.add([{ i: 2 }])).rejects.toMatchObject({ code: 'PCX_STORE_UNAVAILABLE' });
    expect(s.batches).toEqual([]);
  });
});
