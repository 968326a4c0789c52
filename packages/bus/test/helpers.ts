import type { BusRecord } from '../src/bus.js';

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const text = (b: Buffer | null): string | null => (b === null ? null : b.toString('utf8'));

/** key → values in arrival order. */
export function byKey(records: readonly BusRecord[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of records) {
    const k = text(r.key) ?? '';
    const list = out.get(k) ?? [];
    list.push(text(r.value) ?? '<tombstone>');
    out.set(k, list);
  }
  return out;
}
