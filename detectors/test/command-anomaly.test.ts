import { describe, it, expect } from 'vitest';
import type { IAccessEvent } from '@portcullis/proto';
import { createCommandAnomalyScorer, type CommandAnomalySettings, type CommandAnomalyState, type Finding, type Scorer } from '../src/index.js';
import { prng, gaussian, pick, pair, T0, MINUTE, HOUR, DAY, type Pair } from './fixtures/agent-traffic.js';

const settings: CommandAnomalySettings = {
  tableHalfLifeMs: 7 * DAY,
  rareTableCount: 3,
  maturityReads: 50,
  maturityMs: 0,
  reservoirSize: 64,
  zThreshold: 3.5,
  minMad: 0.25,
  absoluteRows: 100_000,
  alertScore: 0.5,
  alertFirstSeen: true,
  maxTablesPerAgent: 256,
  maxPending: 64,
  pendingTtlMs: 5 * MINUTE,
  maxLatenessMs: 5 * MINUTE,
  dedupeWindow: 32,
  idleTtlMs: 30 * DAY,
  block: false,
  blockSeverity: 'high',
  blockTtlMs: HOUR,
};

function run(scorer: Scorer<CommandAnomalyState>, events: readonly IAccessEvent[], state = scorer.init()): { state: CommandAnomalyState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const r = scorer.score(state, e);
    state = r.state;
    findings.push(...r.findings);
  }
  return { state, findings };
}

const flat = (pairs: readonly Pair[]): IAccessEvent[] => pairs.flatMap((p) => [p.request, p.response]);

/**
 * One agent's benign reads: a role-specific table mix with Zipf weights, log-normal row
 * counts around a per-agent median, WHERE on almost every read; one read in ~3000 touches
 * a sparse table (same rows as usual). Returns pairs spaced by ~5 minutes of event time.
 */
function benign(rand: () => number, agent: string, n: number, start: number): Pair[] {
  const tables = ['orders', 'customers', 'items', 'invoices', 'shipments', 'refunds', 'coupons', 'stock'];
  const weights = tables.map((_, i) => 1 / (i + 1));
  const median = 20 + Math.floor(rand() * 200);
  const out: Pair[] = [];
  let t = start;
  for (let i = 0; i < n; i++) {
    t += Math.floor(2 * MINUTE + rand() * 6 * MINUTE);
    const table = rand() < 1 / 3000 ? 'archive_2019' : (tables[pick(rand, weights)] as string);
    const rows = Math.max(0, Math.round(median * Math.exp(0.8 * gaussian(rand))));
    out.push(pair(agent, t, { tables: [table], hasWhere: rand() > 0.01, hasLimit: rand() < 0.3 }, { rows }));
  }
  return out;
}

describe('command-anomaly scorer', () => {
  it('catches a bulk SELECT on a never-touched table for every agent, and stays under 0.1 % medium+ false positives', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const rand = prng(1);
    let reads = 0;
    let fpMediumPlus = 0;
    let fpAll = 0;
    let caught = 0;
    const agents = 40;
    for (let a = 0; a < agents; a++) {
      const agent = `agent:${a}`;
      const traffic = benign(rand, agent, 1500, T0);
      const { state, findings } = run(scorer, flat(traffic));
      reads += traffic.length;
      fpAll += findings.length;
      fpMediumPlus += findings.filter((f) => f.severity !== 'low' && f.severity !== 'info').length;
      const last = Number(traffic[traffic.length - 1]?.response.time);
      // The injection: 5 000–50 000 rows from payroll, with a WHERE (so only the statistics can see it).
      const rows = 5_000 + Math.floor(rand() * 45_000);
      const inj = pair(agent, last + 10 * MINUTE, { tables: ['payroll'], hasWhere: true }, { rows });
      const r = run(scorer, flat([inj]), state);
      const f = r.findings[0];
      if (f && f.severity !== 'low' && (f.details.rules as string[]).includes('bulk_rare_table')) caught += 1;
    }
    expect(caught).toBe(agents);
    expect(fpMediumPlus / reads).toBeLessThan(0.001);
    expect(fpAll / reads).toBeLessThan(0.002);
  });

  it('scores a bulk read of a table touched once long ago, but not the same rows from a hot table', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const rand = prng(2);
    const warm = benign(rand, 'agent:x', 400, T0);
    const once = pair('agent:x', T0 + 1 * DAY, { tables: ['ledger'] }, { rows: 50 });
    let { state } = run(scorer, flat([...warm.slice(0, 200), once, ...warm.slice(200)]));
    const end = Number(warm[warm.length - 1]?.response.time);
    const hot = run(scorer, flat([pair('agent:x', end + MINUTE, { tables: ['orders'] }, { rows: 40_000 })]), state);
    expect(hot.findings).toEqual([]);
    state = hot.state;
    const rare = run(scorer, flat([pair('agent:x', end + 2 * MINUTE, { tables: ['ledger'] }, { rows: 40_000 })]), state);
    expect(rare.findings).toHaveLength(1);
    const f = rare.findings[0] as Finding;
    expect(f.details).toMatchObject({ rules: ['bulk_rare_table'], rarest_table: 'ledger', first_seen_table: false, rows: 40_000 });
    expect(f.details.rarity as number).toBeGreaterThan(0.5);
    expect(f.subject).toEqual({ kind: 'identity', value: 'agent:x' });
    expect(f.eventIds).toHaveLength(2);
  });

  it('applies the absolute rule before maturity, only without WHERE and LIMIT', () => {
    const scorer = createCommandAnomalyScorer({ ...settings, block: true });
    const bare = run(scorer, flat([pair('agent:new', T0, { tables: ['customers'], hasWhere: false, hasLimit: false }, { rows: 250_000 })]));
    expect(bare.findings).toHaveLength(1);
    expect(bare.findings[0]).toMatchObject({ severity: 'high', analytic: 'rule', block: { subject: { kind: 'identity', value: 'agent:new' }, ttlMs: HOUR } });
    expect(run(scorer, flat([pair('agent:new', T0, { tables: ['customers'], hasWhere: true }, { rows: 250_000 })])).findings).toEqual([]);
    expect(run(scorer, flat([pair('agent:new', T0, { tables: ['customers'], hasWhere: false, hasLimit: true }, { rows: 250_000 })])).findings).toEqual([]);
    // Writes and failed reads are not reads.
    expect(run(scorer, flat([pair('agent:new', T0, { tables: ['customers'], isWrite: true, hasWhere: false }, { rows: 250_000 })])).findings).toEqual([]);
    expect(run(scorer, flat([pair('agent:new', T0, { tables: ['customers'], hasWhere: false }, { rows: 250_000, errorCode: '57014' })])).findings).toEqual([]);
  });

  it('flags a first-seen table as low once mature, and not before', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const rand = prng(3);
    const early = run(scorer, flat([...benign(rand, 'agent:y', 10, T0), pair('agent:y', T0 + DAY, { tables: ['secrets'] }, { rows: 30 })]));
    expect(early.findings.filter((f) => f.details.first_seen_table)).toEqual([]);
    const warm = run(scorer, flat(benign(rand, 'agent:y', 200, T0)));
    const late = run(scorer, flat([pair('agent:y', T0 + 30 * DAY, { tables: ['secrets'] }, { rows: 30 })]), warm.state);
    expect(late.findings).toHaveLength(1);
    expect(late.findings[0]).toMatchObject({ severity: 'low', details: { rules: ['first_seen_table'] } });
  });

  it('correlates REQUEST and RESPONSE by request_id: rarity is taken before the request counts', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const rand = prng(4);
    const warm = run(scorer, flat(benign(rand, 'agent:z', 300, T0))).state;
    const end = warm.last;
    const p = pair('agent:z', end + MINUTE, { tables: ['payroll'] }, { rows: 30_000 });
    const afterRequest = scorer.score(warm, p.request);
    expect(afterRequest.state.pending.map((x) => x.requestId)).toContain(p.request.requestId);
    expect(afterRequest.state.tables.find((t) => t.table === 'payroll')?.count).toBe(1);
    const afterResponse = scorer.score(afterRequest.state, p.response);
    expect(afterResponse.state.pending.map((x) => x.requestId)).not.toContain(p.request.requestId);
    expect(afterResponse.findings[0]?.details).toMatchObject({ first_seen_table: true, rules: ['bulk_rare_table'] });
    expect(afterResponse.findings[0]?.eventIds).toEqual([p.response.eventId, p.request.eventId]);
  });

  it('drops pending requests after their ttl in event time and bounds them', () => {
    const scorer = createCommandAnomalyScorer(settings);
    let state = scorer.init();
    for (let i = 0; i < 500; i++) state = scorer.score(state, pair('agent:p', T0 + i * 1000, { tables: ['orders'] }).request).state;
    expect(state.pending.length).toBe(settings.maxPending);
    const evicted = scorer.evict?.(state, T0 + 500 * 1000 + settings.pendingTtlMs + 1);
    expect(evicted?.pending).toEqual([]);
  });

  it('does not double-count a redelivered event', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const events = flat(benign(prng(5), 'agent:d', 300, T0));
    const once = run(scorer, events).state;
    // Redelivery as the runtime does it: each batch of 10 seen again right after.
    const twice: IAccessEvent[] = [];
    for (let i = 0; i < events.length; i += 10) twice.push(...events.slice(i, i + 10), ...events.slice(i, i + 10));
    const again = run(scorer, twice).state;
    expect(again).toEqual(once);
  });

  it('tolerates reordering within the lateness bound and ignores later stragglers', () => {
    // Neighbours are up to ~8 minutes apart, so the bound here is 15.
    const scorer = createCommandAnomalyScorer({ ...settings, maxLatenessMs: 15 * MINUTE });
    const rand = prng(6);
    const events = flat(benign(rand, 'agent:o', 600, T0));
    // Swap random neighbours: each event moves at most a few minutes in event time.
    const shuffled = events.slice();
    for (let i = 0; i + 1 < shuffled.length; i += 1 + Math.floor(rand() * 3)) [shuffled[i], shuffled[i + 1]] = [shuffled[i + 1] as IAccessEvent, shuffled[i] as IAccessEvent];
    const ordered = run(scorer, events).state;
    const reordered = run(scorer, shuffled).state;
    expect(reordered.reads).toBe(ordered.reads);
    for (const t of ordered.tables) expect(reordered.tables.find((x) => x.table === t.table)?.count).toBeCloseTo(t.count, 6);
    // A straggler from an hour ago changes nothing.
    const straggler = pair('agent:o', ordered.last - HOUR, { tables: ['payroll'], hasWhere: false }, { rows: 1_000_000 });
    const r = run(scorer, flat([straggler]), ordered);
    expect(r.state).toBe(ordered);
    expect(r.findings).toEqual([]);
    // The injected anomaly is still caught after the reordered baseline.
    const inj = run(scorer, flat([pair('agent:o', ordered.last + MINUTE, { tables: ['payroll'] }, { rows: 40_000 })]), reordered);
    expect(inj.findings[0]?.details.rules).toEqual(['bulk_rare_table']);
  });

  it('round-trips its state through serialize/deserialize', () => {
    const scorer = createCommandAnomalyScorer(settings);
    const events = flat(benign(prng(7), 'agent:s', 200, T0));
    const { state } = run(scorer, [...events, pair('agent:s', T0 + 20 * DAY, { tables: ['x'] }).request]);
    const back = scorer.deserialize(scorer.serialize(state));
    expect(back).toEqual(state);
    const next = pair('agent:s', T0 + 20 * DAY + MINUTE, { tables: ['payroll'] }, { rows: 50_000 });
    expect(run(scorer, flat([next]), back)).toEqual(run(scorer, flat([next]), state));
  });

  it('stays within its caps when one agent touches a million distinct tables and request ids', () => {
    const scorer = createCommandAnomalyScorer(settings);
    let state = scorer.init();
    let maxBytes = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const e: IAccessEvent = {
        eventId: `m-${i}`,
        requestId: `r-${i}`,
        time: T0 + i * 10,
        phase: 1,
        identity: { subject: 'agent:flood' },
        command: { statementType: 'SELECT', tables: [`t_${i}_${'x'.repeat(i % 300)}`], hasWhere: true },
      };
      state = scorer.score(state, e).state;
      if (i % 50_000 === 0) maxBytes = Math.max(maxBytes, scorer.sizeOf?.(state) ?? 0);
    }
    expect(state.tables.length).toBe(settings.maxTablesPerAgent);
    expect(state.pending.length).toBe(settings.maxPending);
    expect(Math.max(...state.tables.map((t) => t.table.length))).toBeLessThanOrEqual(128);
    expect(maxBytes).toBeLessThan(160_000);
    expect(scorer.serialize(state).length).toBeLessThan(160_000);
  }, 120_000);

  it('forgets an idle agent and decays old tables away', () => {
    const scorer = createCommandAnomalyScorer({ ...settings, idleTtlMs: 60 * DAY });
    const hot = Array.from({ length: 40 }, (_, i) => pair('agent:i', T0 + i * MINUTE, { tables: ['orders'] }, { rows: 10 }));
    const { state } = run(scorer, flat([pair('agent:i', T0, { tables: ['once'] }, { rows: 10 }), ...hot]));
    expect(scorer.evict?.(state, state.last + HOUR)).toBe(state);
    const later = scorer.evict?.(state, state.last + 35 * DAY);
    expect(later?.tables.map((t) => t.table)).toEqual(['orders']);
    expect(scorer.evict?.(state, state.last + 60 * DAY)).toBeUndefined();
  });
});
