import { describe, it, expect } from 'vitest';
import { PublishGate } from '../src/runtime/publish-gate.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('publish gate', () => {
  it('pauses above the high mark and resumes only once drained to the low mark', async () => {
    const calls: string[] = [];
    const gate = new PublishGate(100, 50, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    const a = deferred();
    const b = deferred();
    const c = deferred();
    const pa = gate.track(60, () => a.promise);
    expect(calls).toEqual([]);
    const pb = gate.track(30, () => b.promise);
    const pc = gate.track(20, () => c.promise);
    expect(calls).toEqual(['pause']);
    expect(gate.isPaused).toBe(true);
    expect(gate.pending).toBe(110);
    b.resolve();
    await pb;
    // 80 still pending: above the low mark, so still paused.
    expect(calls).toEqual(['pause']);
    a.resolve();
    await pa;
    expect(calls).toEqual(['pause', 'resume']);
    expect(gate.isPaused).toBe(false);
    c.resolve();
    await pc;
    expect(gate.pending).toBe(0);
  });

  it('releases its count when a publish fails', async () => {
    const calls: string[] = [];
    const gate = new PublishGate(10, 5, { pause: () => calls.push('pause'), resume: () => calls.push('resume') });
    await expect(gate.track(20, () => Promise.reject(new Error('broker down')))).rejects.toThrow('broker down');
    expect(calls).toEqual(['pause', 'resume']);
    expect(gate.pending).toBe(0);
  });
});
