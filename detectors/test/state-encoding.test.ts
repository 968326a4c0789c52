import { describe, it, expect } from 'vitest';
import type { IAccessEvent } from '@portcullis/proto';
import { parseConfig } from '@portcullis/common';
import { createScorers, type Scorer } from '../src/index.js';
import { pair, request, T0, MINUTE, HOUR } from './fixtures/agent-traffic.js';

/**
 * Scorer states travel on the changelog in a binary encoding (version byte 0x01). States
 * written before it were JSON arrays; a restore from an older changelog must still read them.
 */
const scorers = new Map(createScorers(parseConfig({}).detectors).map((s) => [s.name, s as Scorer<unknown>]));

function stateAfter(name: string, events: readonly IAccessEvent[]): unknown {
  const scorer = scorers.get(name) as Scorer<unknown>;
  let state = scorer.init();
  for (const e of events) if (scorer.keyOf(e) !== undefined) state = scorer.score(state, e).state;
  return state;
}

function traffic(): IAccessEvent[] {
  const out: IAccessEvent[] = [];
  for (let i = 0; i < 40; i++) {
    const p = pair('agent:e', T0 + i * 7 * MINUTE, { tables: ['orders', i % 3 === 0 ? 'payroll' : 'items'] }, { rows: 10 + i, pii: { email: i } }, { sessionId: `s-${Math.floor(i / 4)}` });
    out.push(p.request, p.response);
  }
  out.push(request('agent:e', T0 + 10 * HOUR, 's-late'));
  return out;
}

describe('scorer state encoding', () => {
  const events = traffic();

  it('writes binary, with a version byte, and reads it back equal', () => {
    for (const name of ['credential-origin', 'command-anomaly', 'timing', 'data-leakage']) {
      const scorer = scorers.get(name) as Scorer<unknown>;
      const state = stateAfter(name, events);
      const bytes = scorer.serialize(state);
      expect(bytes[0], name).toBe(0x01);
      expect(scorer.deserialize(bytes), name).toEqual(state);
      expect(() => scorer.deserialize(bytes.subarray(0, bytes.length - 1)), name).toThrow();
    }
  });

  it('still reads the JSON states of an older changelog', () => {
    type Origin = { origin: string; first: number; last: number; count: number };
    const co = stateAfter('credential-origin', events) as { origins: Origin[] };
    expect(co.origins.length).toBeGreaterThan(0);
    const coJson = JSON.stringify(co.origins.map((o) => [o.origin, o.first, o.last, o.count]));
    expect(scorers.get('credential-origin')?.deserialize(Buffer.from(coJson))).toEqual(co);

    const tm = stateAfter('timing', events) as { last: number; sessions: number[]; hist: number[]; histAt: number; runs: number; first: number; winStart: number; winRuns: number; burstRaised: boolean; recent: number[] };
    expect(tm.hist.length).toBe(168);
    const tmJson = JSON.stringify([tm.last, tm.sessions, tm.hist, tm.histAt, tm.runs, tm.first, tm.winStart, tm.winRuns, tm.burstRaised ? 1 : 0, tm.recent]);
    expect(scorers.get('timing')?.deserialize(Buffer.from(tmJson))).toEqual(tm);

    type M = { w: number; mean: number; s: number; at: number };
    const dl = stateAfter('data-leakage', events) as { n: number; first: number; last: number; bytes: M; pii: M; sensitive: number; findingAt: number; findingRank: number; recent: number[] };
    const row = (m: M): number[] => [m.w, m.mean, m.s, m.at];
    const dlJson = JSON.stringify([dl.n, dl.first, dl.last, row(dl.bytes), row(dl.pii), dl.sensitive, dl.findingAt, dl.findingRank, dl.recent]);
    expect(scorers.get('data-leakage')?.deserialize(Buffer.from(dlJson))).toEqual(dl);

    type P = { requestId: string; eventId: string; at: number; tables: string[]; rarest: string; rarity: number; firstSeen: boolean; unfiltered: boolean; isRead: boolean };
    const ca = stateAfter('command-anomaly', [...events, pair('agent:e', T0 + 11 * HOUR, { tables: ['vendors'] }).request]) as {
      tables: Array<{ table: string; count: number; at: number }>;
      window: number[];
      reads: number;
      since: number;
      pending: P[];
      recent: number[];
      last: number;
    };
    expect(ca.pending.length).toBeGreaterThan(0);
    const caJson = JSON.stringify([
      ca.tables.map((x) => [x.table, x.count, x.at]),
      ca.window,
      ca.reads,
      ca.since,
      ca.pending.map((p) => [p.requestId, p.eventId, p.at, p.tables, p.rarest, p.rarity, p.firstSeen ? 1 : 0, p.unfiltered ? 1 : 0, p.isRead ? 1 : 0]),
      ca.recent,
      ca.last,
    ]);
    expect(scorers.get('command-anomaly')?.deserialize(Buffer.from(caJson))).toEqual(ca);
  });
});
