import type { CommandAnomalyConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { NO_FINDINGS, pureScore, type AnalyticKind, type Finding, type ScoreResult, type Scorer, type SeverityName, type StateUpdate } from '../scorer.js';
import { admitInPlace } from '../stats/admit.js';
import { isLegacyJson, Reader, Writer } from '../stats/codec.js';
import { decayFactor } from '../stats/decay.js';
import { hashId, pushCapped } from '../stats/event-ring.js';
import { robustZ } from '../stats/robust.js';
import { atLeast } from '../stats/severity.js';

/**
 * Command anomaly: an agent that suddenly pulls a bulk read from a table it rarely
 * touches. Three signals, one finding per read:
 *  - bulk read of a rare table: the table's decayed access count is under
 *    `rareTableCount` and the read's log rows sit far above the agent's own recent reads
 *    (robust z against the median and MAD of a sliding window);
 *  - a table this agent has never touched, once its baseline is mature (low on its own);
 *  - the absolute rule: `absoluteRows` or more rows with neither WHERE nor LIMIT.
 * Table facts come with the REQUEST, rows with the RESPONSE: requests wait in a small
 * pending list keyed by request_id, and rarity is taken at request time (before the
 * request's own access is counted).
 */
export const COMMAND_ANOMALY = 'command-anomaly';

export interface TableCount {
  readonly table: string;
  /** hashId(table): compared before the name, so a scan of a full table list is cheap. */
  readonly h: number;
  /** Decayed access count as of `at`. */
  count: number;
  at: number;
}

export interface PendingRead {
  readonly requestId: string;
  readonly eventId: string;
  readonly at: number;
  readonly tables: readonly string[];
  /** The rarest table of the request and its rarity 1 − count/rareTableCount (0 when not rare). */
  readonly rarest: string;
  readonly rarity: number;
  readonly firstSeen: boolean;
  /** Neither WHERE nor LIMIT. */
  readonly unfiltered: boolean;
  readonly isRead: boolean;
}

/** Updated in place by the scorer; PendingRead entries are never modified once made (a copy may share them). */
export interface CommandAnomalyState {
  tables: TableCount[];
  /** log1p(rows) of the agent's most recent reads, oldest first, at most reservoirSize. */
  window: number[];
  /** Reads seen (for maturity) and the event time of the first. */
  reads: number;
  since: number;
  pending: PendingRead[];
  recent: number[];
  /** Newest event time seen. */
  last: number;
}

export type CommandAnomalySettings = Omit<CommandAnomalyConfig, 'enabled'>;

/** Longest table name kept in state; longer names are cut (they are still distinct enough). */
const MAX_TABLE_NAME = 128;
/** Tables of one statement that are counted; a statement naming more is counted by its first. */
const MAX_TABLES_PER_STATEMENT = 16;
/** A table whose decayed count falls below this is forgotten by evict(). */
const FORGET_BELOW = 0.05;

function emptyCommandAnomaly(): CommandAnomalyState {
  return { tables: [], window: [], reads: 0, since: 0, pending: [], recent: [], last: 0 };
}

/** Table counts and arrays copied; pending reads are immutable and shared. */
export function cloneCommandAnomaly(s: CommandAnomalyState): CommandAnomalyState {
  const tables = new Array<TableCount>(s.tables.length);
  for (let i = 0; i < tables.length; i++) {
    const c = s.tables[i] as TableCount;
    tables[i] = { table: c.table, h: c.h, count: c.count, at: c.at };
  }
  return { tables, window: s.window.slice(), reads: s.reads, since: s.since, pending: s.pending.slice(), recent: s.recent.slice(), last: s.last };
}

export function createCommandAnomalyScorer(config: CommandAnomalySettings): Scorer<CommandAnomalyState> {
  const update = (state: CommandAnomalyState, e: IAccessEvent): StateUpdate<CommandAnomalyState> => updateCommandAnomaly(config, state, e);
  return {
    name: COMMAND_ANOMALY,
    keyOf: (e) => {
      const s = e.identity?.subject;
      return s ? s : undefined;
    },
    init: emptyCommandAnomaly,
    update,
    clone: cloneCommandAnomaly,
    score: pureScore(cloneCommandAnomaly, update),
    evict: (state, now) => evictCommandAnomaly(config, state, now),
    sizeOf: sizeOfState,
    serialize: serializeCommandAnomaly,
    deserialize: deserializeCommandAnomaly,
  };
}

/** Binary (stats/codec.ts), fields in declaration order; table hashes are recomputed on read. */
function serializeCommandAnomaly(s: CommandAnomalyState): Buffer {
  const w = new Writer();
  w.uint(s.tables.length);
  for (const x of s.tables) w.str(x.table).f64(x.count).f64(x.at);
  w.f64s(s.window).f64(s.reads).f64(s.since).uint(s.pending.length);
  for (const p of s.pending) {
    w.str(p.requestId).str(p.eventId).f64(p.at).uint(p.tables.length);
    for (const t of p.tables) w.str(t);
    w.str(p.rarest).f64(p.rarity).u8((p.firstSeen ? 1 : 0) | (p.unfiltered ? 2 : 0) | (p.isRead ? 4 : 0));
  }
  return w.u32s(s.recent).f64(s.last).finish();
}

function deserializeCommandAnomaly(b: Buffer): CommandAnomalyState {
  if (isLegacyJson(b)) return deserializeLegacy(b);
  const r = new Reader(b);
  const tables: TableCount[] = [];
  for (let i = 0, n = r.uint(); i < n; i++) {
    const table = r.str();
    tables.push({ table, h: hashId(table), count: r.f64(), at: r.f64() });
  }
  const window = r.f64s();
  const reads = r.f64();
  const since = r.f64();
  const pending: PendingRead[] = [];
  for (let i = 0, n = r.uint(); i < n; i++) {
    const requestId = r.str();
    const eventId = r.str();
    const at = r.f64();
    const ts: string[] = [];
    for (let k = 0, m = r.uint(); k < m; k++) ts.push(r.str());
    const rarest = r.str();
    const rarity = r.f64();
    const flags = r.u8();
    pending.push({ requestId, eventId, at, tables: ts, rarest, rarity, firstSeen: (flags & 1) !== 0, unfiltered: (flags & 2) !== 0, isRead: (flags & 4) !== 0 });
  }
  const state: CommandAnomalyState = { tables, window, reads, since, pending, recent: r.u32s(), last: r.f64() };
  r.end();
  return state;
}

/** The JSON encoding written before the binary one, read from older changelogs. */
function deserializeLegacy(b: Buffer): CommandAnomalyState {
  const [tables, window, reads, since, pending, recent, last] = JSON.parse(b.toString('utf8')) as [
    Array<[string, number, number]>,
    number[],
    number,
    number,
    Array<[string, string, number, string[], string, number, number, number, number]>,
    number[],
    number,
  ];
  return {
    tables: tables.map(([table, count, at]) => ({ table, h: hashId(table), count, at })),
    window,
    reads,
    since,
    pending: pending.map(([requestId, eventId, at, ts, rarest, rarity, firstSeen, unfiltered, isRead]) => ({
      requestId,
      eventId,
      at,
      tables: ts,
      rarest,
      rarity,
      firstSeen: firstSeen === 1,
      unfiltered: unfiltered === 1,
      isRead: isRead === 1,
    })),
    recent,
    last,
  };
}

/** The pure form of the command-anomaly step (tests, tools): `state` is never modified. */
export function scoreCommandAnomaly(config: CommandAnomalySettings, state: CommandAnomalyState, e: IAccessEvent): ScoreResult<CommandAnomalyState> {
  const u = updateCommandAnomaly(config, cloneCommandAnomaly(state), e);
  return { state: u.changed ? u.state : state, findings: u.findings };
}

/** One REQUEST or RESPONSE applied to `state` in place. */
export function updateCommandAnomaly(config: CommandAnomalySettings, state: CommandAnomalyState, e: IAccessEvent): StateUpdate<CommandAnomalyState> {
  if (e.phase !== Phase.REQUEST && e.phase !== Phase.RESPONSE) return { state, changed: false, findings: NO_FINDINGS };
  const t = admitInPlace(e, state.last, state.recent, config.maxLatenessMs, config.dedupeWindow);
  if (t === 0) return { state, changed: false, findings: NO_FINDINGS };
  state.last = Math.max(state.last, t);
  expirePendingInPlace(state.pending, state.last - config.pendingTtlMs);
  if (e.phase === Phase.REQUEST) {
    onRequest(config, e, t, state);
    return { state, changed: true, findings: NO_FINDINGS };
  }
  const finding = onResponse(config, state, e, t);
  return { state, changed: true, findings: finding ? [finding] : NO_FINDINGS };
}

function tablesOf(e: IAccessEvent): string[] {
  const raw = e.command?.tables ?? [];
  const out: string[] = [];
  for (const t of raw) {
    if (out.length >= MAX_TABLES_PER_STATEMENT) break;
    const name = t.length > MAX_TABLE_NAME ? t.slice(0, MAX_TABLE_NAME) : t;
    if (name && !out.includes(name)) out.push(name);
  }
  return out;
}

function isReadOf(e: IAccessEvent): boolean {
  const c = e.command;
  if (!c || c.isWrite) return false;
  const type = (c.statementType ?? '').toUpperCase();
  return type === '' || type.startsWith('SELECT') || type === 'WITH' || type === 'TABLE' || type === 'COPY';
}

/** Rarity facts of a statement against the counts as they stand at t (before it is counted). */
function rarityOf(config: CommandAnomalySettings, counts: readonly TableCount[], tables: readonly string[], t: number): { rarest: string; rarity: number; firstSeen: boolean } {
  let rarest = '';
  let min = Infinity;
  let firstSeen = false;
  for (const table of tables) {
    const entry = counts[indexOfTable(counts, table, hashId(table))];
    const c = entry ? entry.count * decayFactor(t - entry.at, config.tableHalfLifeMs) : 0;
    if (!entry) firstSeen = true;
    if (c < min) {
      min = c;
      rarest = table;
    }
  }
  const rarity = tables.length === 0 ? 0 : Math.max(0, 1 - min / config.rareTableCount);
  return { rarest, rarity, firstSeen };
}

function onRequest(config: CommandAnomalySettings, e: IAccessEvent, t: number, state: CommandAnomalyState): void {
  const tables = tablesOf(e);
  const requestId = e.requestId ?? '';
  const { rarest, rarity, firstSeen } = rarityOf(config, state.tables, tables, t);
  for (const table of tables) bump(config, state.tables, table, t);
  if (requestId) {
    const c = e.command;
    const entry: PendingRead = {
      requestId,
      eventId: e.eventId ?? '',
      at: t,
      tables,
      rarest,
      rarity,
      firstSeen,
      unfiltered: !c?.hasWhere && !c?.hasLimit,
      isRead: isReadOf(e),
    };
    pushCapped(state.pending, entry, config.maxPending);
  }
}

function indexOfTable(counts: readonly TableCount[], table: string, h: number): number {
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as TableCount;
    if (c.h === h && c.table === table) return i;
  }
  return -1;
}

/** Counts one access of `table` at t into `counts` (in place), evicting the least used at the cap. */
function bump(config: CommandAnomalySettings, counts: TableCount[], table: string, t: number): void {
  const h = hashId(table);
  const i = indexOfTable(counts, table, h);
  if (i >= 0) {
    const c = counts[i] as TableCount;
    // A late access enters with its own decay; the reference time never moves back.
    if (t >= c.at) {
      c.count = c.count * decayFactor(t - c.at, config.tableHalfLifeMs) + 1;
      c.at = t;
    } else c.count = c.count + decayFactor(c.at - t, config.tableHalfLifeMs);
    return;
  }
  if (counts.length >= config.maxTablesPerAgent) counts.splice(leastUsed(config, counts), 1);
  counts.push({ table, h, count: 1, at: t });
}

/** Index of the entry with the smallest decayed count (compared in log space: no reference time needed). */
function leastUsed(config: CommandAnomalySettings, counts: readonly TableCount[]): number {
  let victim = 0;
  let min = Infinity;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] as TableCount;
    const key = Math.log2(c.count) + c.at / config.tableHalfLifeMs;
    if (key < min) {
      min = key;
      victim = i;
    }
  }
  return victim;
}

/** Matches the RESPONSE to its REQUEST, judges the read against the window as it stood, then counts it (in place). */
function onResponse(config: CommandAnomalySettings, state: CommandAnomalyState, e: IAccessEvent, t: number): Finding | undefined {
  const requestId = e.requestId ?? '';
  let index = -1;
  if (requestId) {
    for (let i = 0; i < state.pending.length; i++) {
      if ((state.pending[i] as PendingRead).requestId === requestId) {
        index = i;
        break;
      }
    }
  }
  let read: PendingRead;
  if (index >= 0) {
    read = state.pending[index] as PendingRead;
    state.pending.splice(index, 1);
  } else {
    // The REQUEST was not seen (evicted, or on the far side of a restart): the RESPONSE
    // repeats the command facts, so score it with rarity as the counts stand now.
    const tables = tablesOf(e);
    const c = e.command;
    read = { requestId, eventId: '', at: t, tables, ...rarityOf(config, state.tables, tables, t), unfiltered: !c?.hasWhere && !c?.hasLimit, isRead: isReadOf(e) };
  }
  const failed = (e.response?.errorCode ?? '') !== '';
  if (!read.isRead || failed || !e.response) return undefined;

  const rows = Number(e.response.rows ?? 0);
  const x = Math.log1p(rows);
  const mature = state.reads >= config.maturityReads && t - state.since >= config.maturityMs;
  const finding = mature || rows >= config.absoluteRows ? judge(config, state, e, read, rows, x, mature, t) : undefined;

  pushCapped(state.window, x, config.reservoirSize);
  state.reads = Math.min(state.reads + 1, 2 ** 31);
  state.since = state.since === 0 ? t : Math.min(state.since, t);
  return finding;
}

interface Signal {
  rule: 'bulk_rare_table' | 'absolute_unfiltered' | 'first_seen_table';
  score: number;
  severity: SeverityName;
  analytic: AnalyticKind;
}

function judge(config: CommandAnomalySettings, state: CommandAnomalyState, e: IAccessEvent, read: PendingRead, rows: number, x: number, mature: boolean, t: number): Finding | undefined {
  const signals: Signal[] = [];
  let z: number | undefined;
  let median: number | undefined;
  let mad: number | undefined;
  if (mature && read.rarity > 0 && state.window.length > 0) {
    ({ z, median, mad } = robustZ(x, state.window, config.minMad));
    if (z >= config.zThreshold) {
      // Rarer tables need less excess: a first-seen table at z = zThreshold scores 0.63.
      const score = read.rarity * (1 - Math.exp(-z / config.zThreshold));
      if (score >= config.alertScore) signals.push({ rule: 'bulk_rare_table', score, severity: score >= 0.85 ? 'high' : score >= 0.65 ? 'medium' : 'low', analytic: 'statistical' });
    }
  }
  if (rows >= config.absoluteRows && read.unfiltered) signals.push({ rule: 'absolute_unfiltered', score: 0.9, severity: 'high', analytic: 'rule' });
  if (mature && read.firstSeen && config.alertFirstSeen && signals.length === 0) signals.push({ rule: 'first_seen_table', score: 0.3, severity: 'low', analytic: 'behavioral' });
  if (signals.length === 0) return undefined;

  const top = signals.reduce((a, b) => (b.score > a.score ? b : a));
  const subject = e.identity?.subject ?? '';
  const eventIds = [e.eventId ?? '', read.eventId].filter((id) => id !== '');
  const first = read.eventId ? Math.min(read.at, t) : t;
  const rules = signals.map((s) => s.rule);
  const finding: Finding = {
    detector: COMMAND_ANOMALY,
    key: subject,
    title: TITLES[top.rule],
    description:
      `Agent ${subject} read ${rows} rows from ${read.tables.join(', ') || 'an unnamed relation'}` +
      (z !== undefined && median !== undefined ? ` (robust z ${z.toFixed(1)} against a median of ${Math.round(Math.expm1(median))} rows)` : '') +
      (read.firstSeen ? '; a table it had not touched before' : read.rarity > 0 ? `; ${read.rarest} is rarely touched` : '') +
      (read.unfiltered ? '; no WHERE or LIMIT' : '') +
      '.',
    severity: top.severity,
    score: top.score,
    confidence: Math.min(1, state.reads / (state.reads + 20)),
    analytic: top.analytic,
    subject: { kind: 'identity', value: subject },
    eventIds,
    firstSeen: first,
    lastSeen: t,
    details: {
      rules,
      rows,
      tables: read.tables,
      rarest_table: read.rarest,
      rarity: read.rarity,
      first_seen_table: read.firstSeen,
      unfiltered: read.unfiltered,
      robust_z: z,
      baseline_median_rows: median === undefined ? undefined : Math.expm1(median),
      baseline_mad_log_rows: mad,
      baseline_reads: state.reads,
      fingerprint: e.command?.fingerprint ?? '',
      statement_type: e.command?.statementType ?? '',
    },
  };
  if (config.block && atLeast(top.severity, config.blockSeverity) && subject) {
    finding.block = { subject: { kind: 'identity', value: subject }, ttlMs: config.blockTtlMs, reason: `${COMMAND_ANOMALY}: ${rules.join('+')} (${rows} rows)` };
  }
  return finding;
}

const TITLES: Record<Signal['rule'], string> = {
  bulk_rare_table: 'Bulk read of a rarely touched table',
  absolute_unfiltered: 'Large read without WHERE or LIMIT',
  first_seen_table: 'Agent touched a table for the first time',
};

function expirePending(pending: PendingRead[], cutoff: number): PendingRead[] {
  for (const p of pending) if (p.at < cutoff) return pending.filter((x) => x.at >= cutoff);
  return pending;
}

/** expirePending() in place (order kept). */
function expirePendingInPlace(pending: PendingRead[], cutoff: number): void {
  let k = 0;
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i] as PendingRead;
    if (p.at >= cutoff) pending[k++] = p;
  }
  if (k !== pending.length) pending.length = k;
}

export function evictCommandAnomaly(config: CommandAnomalySettings, state: CommandAnomalyState, now: number): CommandAnomalyState | undefined {
  if (state.last > 0 && now - state.last >= config.idleTtlMs) return undefined;
  const pending = expirePending(state.pending, now - config.pendingTtlMs);
  let tables = state.tables;
  for (const c of state.tables) {
    if (c.count * decayFactor(now - c.at, config.tableHalfLifeMs) < FORGET_BELOW) {
      tables = state.tables.filter((x) => x.count * decayFactor(now - x.at, config.tableHalfLifeMs) >= FORGET_BELOW);
      break;
    }
  }
  if (pending === state.pending && tables === state.tables) return state;
  return { ...state, pending, tables };
}

/** V8 estimate: object headers, array slots, a number per float, strings at 16 B + length. */
function sizeOfState(s: CommandAnomalyState): number {
  let bytes = 7 * 8 + 40;
  for (const c of s.tables) bytes += 8 + 48 + 16 + c.table.length;
  bytes += 16 + s.window.length * 8;
  for (const p of s.pending) {
    bytes += 8 + 88 + 32 + p.requestId.length + p.eventId.length + p.rarest.length;
    for (const t of p.tables) bytes += 8 + 16 + t.length;
  }
  bytes += 16 + s.recent.length * 8;
  return bytes;
}
