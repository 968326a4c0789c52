import type { DetectorsConfig } from '@portcullis/common';
import { cronMatches, parseCron } from '@portcullis/detectors';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import type { Statement } from './events.js';
import { hexOf, SENSITIVE_TABLES, type Agent } from './fleet.js';
import { between, chance, fork, intBetween, oneOf, shuffle, type Rand } from './random.js';
import { localClock, localDays, HOUR, MINUTE, DAY } from './time.js';
import { deployGenerations, gatewayOf, originAt, sessionEvents, type TrafficOptions } from './traffic.js';

/**
 * The insider actions of the seed, injected into a fleet's normal traffic with their
 * ground truth: which agent, when (event time of the first and last injected event),
 * which detector is meant to catch it and which subject the config says to block.
 */
export type InjectionKind = 'stolen-token' | 'config-drift' | 'bulk-rare-table' | 'off-schedule' | 'sensitive-to-new-destination';

export const INJECTION_KINDS: readonly InjectionKind[] = ['stolen-token', 'config-drift', 'bulk-rare-table', 'off-schedule', 'sensitive-to-new-destination'];

export const EXPECTED_DETECTOR: Record<InjectionKind, string> = {
  'stolen-token': 'credential-origin',
  'config-drift': 'config-drift',
  'bulk-rare-table': 'command-anomaly',
  'off-schedule': 'timing',
  'sensitive-to-new-destination': 'data-leakage',
};

/** Actions whose evidence exists only once the command's result does. */
const RESULT_REVEALS: ReadonlySet<InjectionKind> = new Set(['bulk-rare-table', 'sensitive-to-new-destination']);

export interface Injection {
  readonly id: string;
  readonly kind: InjectionKind;
  /** How this instance was done (three-am, extra-runs, burst, unfiltered …). */
  readonly variant: string;
  readonly detector: string;
  readonly subject: string;
  readonly credentialId: string;
  readonly start: number;
  readonly end: number;
  /**
   * Event time of the first injected event that carries what the detector judges: the
   * RESPONSE for actions only a result reveals (a bulk read's row count, PII bound for a
   * destination — the gateway learns them when the query has run), else `start`. Time to
   * detect is measured from here, so a query's own run time is not counted against the
   * detector.
   */
  readonly evidenceAt: number;
  readonly eventIds: readonly string[];
  /** The decision subject the config asks to block for this action, when the config decides it up front. */
  readonly expectBlock?: string;
  readonly description: string;
}

export interface InjectionPlan {
  readonly injections: Injection[];
  readonly events: IAccessEvent[];
  /** Kinds that could not be injected, and why. */
  readonly notCovered: Array<{ kind: InjectionKind; reason: string }>;
}

interface Ctx {
  rand: Rand;
  config: DetectorsConfig;
  traffic: TrafficOptions;
  from: number;
  to: number;
  normal: ReadonlyMap<string, readonly IAccessEvent[]>;
  busy: Map<string, number[]>;
}

/** Keeps injections on one agent far apart, so one action's findings cannot be credited to another. */
export const SPACING = 18 * HOUR;

export function injectActions(agents: readonly Agent[], normal: ReadonlyMap<string, readonly IAccessEvent[]>, config: DetectorsConfig, traffic: TrafficOptions, injectFrom: number, perKind: number, kinds: readonly InjectionKind[]): InjectionPlan {
  const ctx: Ctx = { rand: fork(traffic.seed, 'injections'), config, traffic, from: injectFrom, to: traffic.to - 6 * HOUR, normal, busy: new Map() };
  const injections: Injection[] = [];
  const events: IAccessEvent[] = [];
  const notCovered: InjectionPlan['notCovered'] = [];
  for (const kind of kinds) {
    // Config drift lives in the agents' manifests, planned after the rest (manifests.ts).
    if (kind === 'config-drift') continue;
    let made = 0;
    for (const agent of shuffle(ctx.rand, agents)) {
      if (made >= perKind) break;
      const done = inject(kind, agent, ctx);
      if (!done) continue;
      const id = `inj-${String(injections.length + 1).padStart(3, '0')}-${kind}`;
      const times = done.events.map((e) => Number(e.time));
      const evidence = RESULT_REVEALS.has(kind) ? done.events.filter((e) => e.phase === Phase.RESPONSE).map((e) => Number(e.time)) : times;
      injections.push({ id, kind, detector: EXPECTED_DETECTOR[kind], subject: agent.subject, credentialId: agent.credentialId, start: Math.min(...times), end: Math.max(...times), evidenceAt: Math.min(...(evidence.length > 0 ? evidence : times)), eventIds: done.events.map((e) => e.eventId ?? ''), variant: done.variant, description: done.description, ...(done.expectBlock ? { expectBlock: done.expectBlock } : {}) });
      events.push(...done.events);
      made += 1;
    }
    if (made === 0) notCovered.push({ kind, reason: 'no agent in this fleet suits it' });
  }
  return { injections, events, notCovered };
}

interface Done {
  events: IAccessEvent[];
  variant: string;
  description: string;
  expectBlock?: string;
}

function inject(kind: InjectionKind, agent: Agent, ctx: Ctx): Done | undefined {
  switch (kind) {
    case 'stolen-token':
      return stolenToken(agent, ctx);
    case 'bulk-rare-table':
      return bulkRareTable(agent, ctx);
    case 'off-schedule':
      return offSchedule(agent, ctx);
    case 'sensitive-to-new-destination':
      return leakage(agent, ctx);
    default:
      return undefined;
  }
}

function free(ctx: Ctx, agent: Agent, t: number): boolean {
  return (ctx.busy.get(agent.subject) ?? []).every((b) => Math.abs(b - t) >= SPACING);
}

function occupy(ctx: Ctx, agent: Agent, t: number): void {
  const list = ctx.busy.get(agent.subject) ?? [];
  list.push(t);
  ctx.busy.set(agent.subject, list);
}

/** A REQUEST of the agent's own traffic inside the injection window, on a free slot: an insider acts during a normal session. */
function inSession(agent: Agent, ctx: Ctx): IAccessEvent | undefined {
  const candidates = (ctx.normal.get(agent.subject) ?? []).filter((e) => e.phase === Phase.REQUEST && Number(e.time) >= ctx.from && Number(e.time) < ctx.to && free(ctx, agent, Number(e.time)));
  return candidates.length > 0 ? oneOf(ctx.rand, candidates) : undefined;
}

function randomFreeTime(agent: Agent, ctx: Ctx): number | undefined {
  for (let i = 0; i < 20; i++) {
    const t = Math.floor(between(ctx.rand, ctx.from, ctx.to));
    if (free(ctx, agent, t)) return t;
  }
  return undefined;
}

function stolenToken(agent: Agent, ctx: Ctx): Done | undefined {
  const t = randomFreeTime(agent, ctx);
  if (t === undefined) return undefined;
  occupy(ctx, agent, t);
  const r = ctx.rand;
  const origin = oneOf(r, [
    { peerIp: `203.0.113.${intBetween(r, 2, 254)}`, declaredHost: `mbp-${hexOf(r, 4)}`, containerId: '' },
    { peerIp: `198.51.100.${intBetween(r, 2, 254)}`, declaredHost: 'kali', containerId: '' },
    { peerIp: `10.42.${intBetween(r, 1, 254)}.${intBetween(r, 2, 254)}`, declaredHost: `debug-pod-${hexOf(r, 5)}`, containerId: hexOf(r, 12) },
    { peerIp: `100.64.${intBetween(r, 0, 63)}.${intBetween(r, 2, 254)}`, declaredHost: `ci-runner-${intBetween(r, 1, 40)}`, containerId: hexOf(r, 12) },
  ]);
  const events = sessionEvents(agent, r, t, intBetween(r, 1, 6), { origin, environment: ctx.traffic.environment });
  return {
    events,
    variant: origin.containerId ? 'foreign-container' : 'foreign-host',
    description: `${agent.credentialId} used from ${origin.peerIp} (${origin.declaredHost})`,
    ...(ctx.config.credentialOrigin.block ? { expectBlock: `credential:${agent.credentialId}` } : {}),
  };
}

/** Decayed access count of each table the agent touched before t (the way an operator would call a table rarely touched). */
function tableCounts(agent: Agent, ctx: Ctx, t: number): Map<string, number> {
  const half = ctx.config.commandAnomaly.tableHalfLifeMs;
  const counts = new Map<string, number>();
  for (const e of ctx.normal.get(agent.subject) ?? []) {
    const et = Number(e.time);
    if (e.phase !== Phase.REQUEST || et >= t) continue;
    for (const table of e.command?.tables ?? []) counts.set(table, (counts.get(table) ?? 0) + Math.pow(0.5, (t - et) / half));
  }
  return counts;
}

function medianReadRows(agent: Agent, ctx: Ctx): number {
  const rows = (ctx.normal.get(agent.subject) ?? []).filter((e) => e.phase === Phase.RESPONSE && !e.command?.isWrite).map((e) => Number(e.response?.rows ?? 0));
  rows.sort((a, b) => a - b);
  return rows[Math.floor(rows.length / 2)] ?? 1;
}

function bulkRareTable(agent: Agent, ctx: Ctx): Done | undefined {
  const anchor = inSession(agent, ctx);
  if (!anchor) return undefined;
  const t = Number(anchor.time) + intBetween(ctx.rand, 1_000, 20_000);
  const counts = tableCounts(agent, ctx, t);
  const rare = [...SENSITIVE_TABLES, ...agent.tables.map((x) => x.table)].filter((table) => (counts.get(table) ?? 0) < 0.3);
  if (rare.length === 0) return undefined;
  occupy(ctx, agent, t);
  const r = ctx.rand;
  const table = oneOf(r, [...new Set(rare)]);
  const unfiltered = chance(r, 0.5);
  const rows = Math.round(Math.max(unfiltered ? ctx.config.commandAnomaly.absoluteRows : 20_000, medianReadRows(agent, ctx) * Math.pow(10, between(r, 2.5, 3.5))));
  const s: Statement = {
    tables: [table],
    statementType: 'SELECT',
    isWrite: false,
    hasWhere: !unfiltered,
    hasLimit: false,
    rows,
    bytes: rows * intBetween(r, 80, 400),
    durationMs: 50 + rows * 0.01,
    pii: table === 'customers' || table === 'employees' ? { email: rows, phone: Math.round(rows * 0.7) } : {},
    destination: agent.destinations[0] ?? '',
  };
  const events = sessionEvents(agent, r, t, 1, { origin: originOfEvent(anchor), environment: ctx.traffic.environment, statement: () => s });
  const ca = ctx.config.commandAnomaly;
  const high = unfiltered && rows >= ca.absoluteRows;
  return {
    events: events.map((e) => ({ ...e, sessionId: anchor.sessionId ?? '' })),
    variant: unfiltered ? 'unfiltered' : 'filtered',
    description: `SELECT of ${rows} rows from ${table} (${unfiltered ? 'no WHERE/LIMIT' : 'with WHERE'})`,
    ...(high && ca.block && (ca.blockSeverity === 'high' || ca.blockSeverity === 'medium' || ca.blockSeverity === 'low' || ca.blockSeverity === 'info') ? { expectBlock: `identity:${agent.subject}` } : {}),
  };
}

function originOfEvent(e: IAccessEvent): { peerIp: string; declaredHost: string; containerId: string } {
  return { peerIp: e.origin?.peerIp ?? '', declaredHost: e.origin?.declaredHost ?? '', containerId: e.origin?.containerId ?? '' };
}

/** Whether a declared cron minute falls within `marginMs` of t. */
function nearCron(agent: Agent, t: number, marginMs: number): boolean {
  const crons = agent.cron.map(parseCron);
  for (let m = t - marginMs; m <= t + marginMs; m += MINUTE) {
    const c = localClock(agent.timeZone, m);
    const d = localDays(agent.timeZone, m, m + 1)[0];
    if (!d) continue;
    if (crons.some((x) => cronMatches(x, { minute: c.minute, hour: c.hour, dayOfMonth: d.day, month: d.month + 1, dayOfWeek: c.dayOfWeek }))) return true;
  }
  return false;
}

function offSchedule(agent: Agent, ctx: Ctx): Done | undefined {
  const r = ctx.rand;
  const generations = deployGenerations(agent, ctx.traffic);
  const days = localDays(agent.timeZone, ctx.from, ctx.to).filter((d) => d.at(0, 0) >= ctx.from && d.at(23, 59) < ctx.to);
  if (days.length === 0) return undefined;
  const margin = agent.cron.length > 0 ? 2 * HOUR : 0;
  const scheduled = agent.cron.length > 0;
  const variants = scheduled ? ['three-am', 'extra-runs'] : ['three-am', 'burst'];
  const variant = oneOf(r, variants);
  for (let attempt = 0; attempt < 20; attempt++) {
    const day = oneOf(r, days);
    const weekday = day.dayOfWeek >= 1 && day.dayOfWeek <= 5;
    let starts: number[];
    if (variant === 'three-am') starts = [day.at(intBetween(r, 2, 4), intBetween(r, 0, 59))];
    else if (variant === 'extra-runs') {
      const first = day.at(intBetween(r, 10, 16), intBetween(r, 0, 59));
      const n = intBetween(r, 3, 6);
      starts = Array.from({ length: n }, (_, i) => first + i * intBetween(r, 10, 20) * MINUTE);
    } else {
      if (!weekday) continue;
      const hour = day.at(intBetween(r, agent.hours[0] + 1, agent.hours[1] - 2), 0);
      const n = Math.ceil(6 * agent.sessionsPerHour + 6);
      starts = Array.from({ length: n }, () => hour + Math.floor(r() * 50 * MINUTE)).sort((a, b) => a - b);
    }
    const first = starts[0] as number;
    if (!free(ctx, agent, first) || starts.some((s) => scheduled && nearCron(agent, s, margin))) continue;
    if (!scheduled && !matureRuns(agent, ctx, first)) return undefined;
    occupy(ctx, agent, first);
    const events: IAccessEvent[] = [];
    for (const s of starts) events.push(...sessionEvents(agent, r, s, intBetween(r, 1, 3), { origin: originAt(agent, generations, s, ctx.traffic.seed, r), environment: ctx.traffic.environment }));
    const tm = ctx.config.timing;
    const blocks = scheduled && tm.block && ['info', 'low', 'medium', 'high'].includes(tm.blockSeverity);
    return {
      events,
      variant,
      description: `${starts.length} run(s) from ${new Date(first).toISOString()} (${agent.timeZone}${scheduled ? `, schedule ${agent.cron.join(' | ')}` : ''})`,
      ...(blocks ? { expectBlock: `identity:${agent.subject}` } : {}),
    };
  }
  return undefined;
}

/** The timing detector learns hours only after maturityRuns runs over maturityWeeks; an injection before that tests nothing. */
function matureRuns(agent: Agent, ctx: Ctx, t: number): boolean {
  const sessions = new Set<string>();
  let first = Infinity;
  for (const e of ctx.normal.get(agent.subject) ?? []) {
    if (Number(e.time) >= t) break;
    sessions.add(e.sessionId ?? '');
    first = Math.min(first, Number(e.time));
  }
  return sessions.size >= ctx.config.timing.maturityRuns * 1.5 && t - first >= (ctx.config.timing.maturityWeeks + 0.5) * 7 * DAY;
}

const EXFIL_DESTINATIONS = ['https://paste.example.net/raw', 'webhook.site', 'smtp:personal-mail.example', 's3://backup-share', 'ftp://198.51.100.7', 'https://drive.example.com/upload'];

function leakage(agent: Agent, ctx: Ctx): Done | undefined {
  const anchor = inSession(agent, ctx);
  if (!anchor) return undefined;
  const r = ctx.rand;
  const t = Number(anchor.time) + intBetween(r, 1_000, 30_000);
  occupy(ctx, agent, t);
  const destination = oneOf(r, EXFIL_DESTINATIONS) + (chance(r, 0.5) ? `/${hexOf(r, 6)}` : '');
  const kinds = oneOf(r, [['ssn'], ['card'], ['iban'], ['card', 'iban'], ['ssn', 'card']]);
  const statement = (): Statement => {
    const rows = intBetween(r, 50, 5000);
    const pii: Record<string, number> = { email: rows };
    for (const k of kinds) pii[k] = Math.round(rows * between(r, 0.5, 1));
    const table = oneOf(r, agent.tables).table;
    return { tables: [table], statementType: 'SELECT', isWrite: false, hasWhere: true, hasLimit: chance(r, 0.5), rows, bytes: rows * intBetween(r, 200, 600), durationMs: 20 + rows * 0.01, pii, destination };
  };
  const events = sessionEvents(agent, r, t, intBetween(r, 1, 4), { origin: originOfEvent(anchor), environment: ctx.traffic.environment, statement }).map((e) => ({ ...e, sessionId: anchor.sessionId ?? '', gatewayId: gatewayOf(agent) }));
  return {
    events,
    variant: kinds.join('+'),
    description: `${kinds.join(', ')} records sent to ${destination}`,
    ...(ctx.config.dataLeakage.block ? { expectBlock: `identity:${agent.subject}` } : {}),
  };
}
