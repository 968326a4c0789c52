import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../src/ids.js';

describe('uuidv7', () => {
  it('has the version and variant bits of RFC 9562 and the timestamp first', () => {
    const now = Date.UTC(2026, 10, 25, 12, 0, 0);
    const id = uuidv7(now);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(now);
  });

  it('sorts by creation within and across milliseconds, and never repeats', () => {
    const ids: string[] = [];
    for (let ms = 0; ms < 5; ms++) for (let i = 0; i < 2000; i++) ids.push(uuidv7(1_800_000_000_000 + ms));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });
});
