// The decision snapshot the gateway serves from while Kafka is unreachable at start: on
// the real file system, written atomically, bounded, and refused when it is not ours.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DecisionEffect, encodeDecision } from '@portcullis/proto';
import { DecisionSnapshotWriter, readDecisionSnapshot } from '../src/decisions/decision-snapshot.js';
import { DecisionView } from '../src/decisions/decision-view.js';
import { memoryLogger } from './support/harness.js';

const dir = mkdtempSync(join(tmpdir(), 'gw-snapshot-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let offset = 0;
function put(view: DecisionView, subject: string, extra: { expiresAt?: number; environment?: string } = {}): void {
  view.apply({ partition: 0, offset: String(offset++), key: Buffer.from(subject), value: encodeDecision({ decisionId: `dec-${subject}`, subject, effect: DecisionEffect.BLOCK, source: 'test', ...extra }) });
}

function writerFor(view: DecisionView, path: string, maxEntries: number, outcomes: string[]): DecisionSnapshotWriter {
  return new DecisionSnapshotWriter({ path, environment: 'itest', gatewayId: 'gw-snap', maxEntries, entries: (max) => view.unexpired(Date.now(), max), logger: memoryLogger().logger, onWrite: (o) => outcomes.push(o) });
}

describe('decision snapshot', () => {
  it('round-trips the unexpired decisions of a view and leaves no temporary file', async () => {
    const path = join(dir, 'a', 'decisions.snapshot.json');
    const view = new DecisionView('itest');
    put(view, 'credential:c1');
    put(view, 'identity:i1', { expiresAt: Date.now() + 3_600_000 });
    put(view, 'identity:gone', { expiresAt: 1 });
    const outcomes: string[] = [];
    const writer = writerFor(view, path, 100, outcomes);
    writer.changed();
    writer.changed(); // coalesced with the one under way, or one more write: never a torn file
    await writer.idle();
    expect(outcomes.length).toBeGreaterThanOrEqual(1);
    expect(outcomes.every((o) => o === 'ok')).toBe(true);
    expect(readdirSync(join(dir, 'a'))).toEqual(['decisions.snapshot.json']);

    const loaded = readDecisionSnapshot(path, 'itest', memoryLogger().logger);
    expect(loaded?.entries.map(([k]) => k).sort()).toEqual(['credential:c1', 'identity:i1']);
    const restored = new DecisionView('itest');
    restored.load(loaded?.entries ?? []);
    expect(restored.isBlocked(['credential:c1'])?.decisionId).toBe('dec-credential:c1');
    expect(restored.isBlocked(['identity:gone'])).toBeUndefined();
  });

  it('writes at most snapshotMaxEntries decisions and says so', async () => {
    const path = join(dir, 'b.json');
    const view = new DecisionView('itest');
    for (let i = 0; i < 5; i++) put(view, `session:s${i}`);
    const outcomes: string[] = [];
    const writer = writerFor(view, path, 2, outcomes);
    writer.changed();
    await writer.idle();
    expect(outcomes).toEqual(['truncated']);
    expect(readDecisionSnapshot(path, 'itest', memoryLogger().logger)?.entries).toHaveLength(2);
  });

  it('ignores a missing, corrupt or other-environment snapshot, warning for the last two', async () => {
    const logs = memoryLogger();
    expect(readDecisionSnapshot(join(dir, 'missing.json'), 'itest', logs.logger)).toBeUndefined();
    expect(logs.text()).toBe('');

    const corrupt = join(dir, 'corrupt.json');
    writeFileSync(corrupt, '{"version":1,"decisions":[{"key":"x","decis');
    expect(readDecisionSnapshot(corrupt, 'itest', logs.logger)).toBeUndefined();
    expect(logs.text()).toContain('decision snapshot corrupt');

    const path = join(dir, 'other-env.json');
    const view = new DecisionView('itest');
    put(view, 'credential:c2');
    const writer = writerFor(view, path, 10, []);
    writer.changed();
    await writer.idle();
    expect(readDecisionSnapshot(path, 'prod', logs.logger)).toBeUndefined();
    expect(logs.text()).toContain('decision snapshot is of another environment');
  });

  it('a rebuild replaces what the snapshot held: the topic wins', () => {
    const served = new DecisionView('itest');
    put(served, 'credential:stale');
    const rebuilt = served.emptyLike();
    put(rebuilt, 'credential:fresh');
    const seen: string[] = [];
    served.onBlock((subject) => seen.push(subject));
    served.replaceWith(rebuilt);
    expect(served.isBlocked(['credential:stale'])).toBeUndefined();
    expect(served.isBlocked(['credential:fresh'])?.decisionId).toBe('dec-credential:fresh');
    expect(seen).toEqual(['credential:fresh']);
  });
});
