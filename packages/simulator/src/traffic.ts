import { cronMatches, parseCron } from '@portcullis/detectors';
import type { IAccessEvent } from '@portcullis/proto';
import { statementEvents, type Statement } from './events.js';
import { originsOf, type Agent, type OriginSpec, type TableUse } from './fleet.js';
import { between, chance, fork, intBetween, logNormal, oneOf, poisson, uuidV7, weighted, type Rand } from './random.js';
import { localDays, MINUTE, WEEK } from './time.js';

export interface TrafficOptions {
  seed: number;
  from: number;
  to: number;
  environment: string;
  /** Deploys per agent-week; a deploy gives containerized replicas new containers, hosts and IPs. */
  deploysPerWeek: number;
}

/** When an agent's sessions start: declared cron runs (with a little start jitter) or working-hour arrivals. */
export function sessionStarts(agent: Agent, from: number, to: number, rand: Rand): number[] {
  const starts: number[] = [];
  const days = localDays(agent.timeZone, from, to);
  if (agent.cron.length > 0) {
    const crons = agent.cron.map(parseCron);
    for (const d of days) {
      for (let h = 0; h < 24; h++)
        for (let m = 0; m < 60; m++) {
          const lt = { minute: m, hour: h, dayOfMonth: d.day, month: d.month + 1, dayOfWeek: d.dayOfWeek };
          if (crons.some((c) => cronMatches(c, lt))) starts.push(d.at(h, m) + Math.floor(between(rand, 0, 4 * MINUTE)));
        }
    }
  } else {
    for (const d of days) {
      const weekend = d.dayOfWeek === 0 || d.dayOfWeek === 6;
      const rate = agent.sessionsPerHour * (weekend ? agent.weekendFactor : 1);
      if (rate <= 0) continue;
      for (let h = agent.hours[0]; h < agent.hours[1]; h++) {
        const n = poisson(rand, rate);
        const hourStart = d.at(h, 0);
        for (let i = 0; i < n; i++) starts.push(hourStart + Math.floor(rand() * 60 * MINUTE));
      }
    }
  }
  return starts.filter((t) => t >= from && t < to).sort((a, b) => a - b);
}

/** One ordinary statement of the agent: a table by weight, a read or a write, rows and PII by the table's profile. */
export function ordinaryStatement(agent: Agent, rand: Rand): Statement {
  const use = weighted(
    rand,
    agent.tables.map((t) => [t, t.weight] as const),
  );
  const tables = [use.table];
  if (chance(rand, 0.1)) {
    const other = oneOf(rand, agent.tables).table;
    if (other !== use.table) tables.push(other);
  }
  const isWrite = chance(rand, use.writes ?? 0);
  return isWrite ? writeOf(use, tables, agent, rand) : readOf(use, tables, agent, rand);
}

function readOf(use: TableUse, tables: string[], agent: Agent, rand: Rand): Statement {
  const rows = logNormal(rand, use.rows, use.sigma, 0);
  const pii: Record<string, number> = {};
  for (const [detector, perRow] of Object.entries(use.pii ?? {})) pii[detector] = Math.round(rows * perRow * between(rand, 0.5, 1.5));
  return {
    tables,
    statementType: 'SELECT',
    isWrite: false,
    hasWhere: chance(rand, 0.92),
    hasLimit: chance(rand, 0.3),
    rows,
    bytes: Math.round(rows * use.rowBytes * between(rand, 0.7, 1.3)) + 64,
    durationMs: 1 + rows * 0.004 * between(rand, 0.5, 2),
    pii,
    destination: agent.destinations[0] ?? '',
  };
}

function writeOf(use: TableUse, tables: string[], agent: Agent, rand: Rand): Statement {
  const rows = logNormal(rand, Math.max(1, use.rows / 20), 0.8, 1);
  return {
    tables,
    statementType: chance(rand, 0.6) ? 'INSERT' : 'UPDATE',
    isWrite: true,
    hasWhere: true,
    hasLimit: false,
    rows,
    bytes: 32,
    durationMs: 2 + rows * 0.01 * between(rand, 0.5, 2),
    pii: {},
    destination: agent.destinations[0] ?? '',
  };
}

/** Deploy generations of an agent: [start time, generation], the first at `from`. */
export function deployGenerations(agent: Agent, o: TrafficOptions): Array<[number, number]> {
  const out: Array<[number, number]> = [[o.from, 0]];
  if (!agent.containerized) return out;
  const rand = fork(o.seed, `deploys:${agent.subject}`);
  for (let w = o.from; w < o.to; w += WEEK) {
    const n = poisson(rand, o.deploysPerWeek);
    const times = Array.from({ length: n }, () => w + Math.floor(rand() * WEEK)).sort((a, b) => a - b);
    for (const t of times) if (t < o.to) out.push([t, out.length]);
  }
  return out;
}

export function originAt(agent: Agent, generations: Array<[number, number]>, t: number, seed: number, rand: Rand): OriginSpec {
  let generation = 0;
  for (const [start, g] of generations) if (start <= t) generation = g;
  return oneOf(rand, originsOf(agent, generation, seed));
}

/** A session: `count` statements from one origin, `gapSeconds` apart. */
export function sessionEvents(agent: Agent, rand: Rand, start: number, count: number, ctx: { origin: OriginSpec; environment: string; credentialId?: string; statement?: (i: number) => Statement }): IAccessEvent[] {
  const out: IAccessEvent[] = [];
  const sessionId = uuidV7(rand, start);
  const port = intBetween(rand, 32768, 60999);
  let t = start;
  for (let i = 0; i < count; i++) {
    const s = ctx.statement ? ctx.statement(i) : ordinaryStatement(agent, rand);
    out.push(
      ...statementEvents(rand, { agent, origin: ctx.origin, sessionId, environment: ctx.environment, gatewayId: gatewayOf(agent), ...(ctx.credentialId ? { credentialId: ctx.credentialId } : {}) }, t, s, port),
    );
    t += Math.round(s.durationMs) + Math.floor(between(rand, agent.gapSeconds[0], agent.gapSeconds[1]) * 1000);
  }
  return out;
}

export function gatewayOf(agent: Agent): string {
  return `gw-${agent.connection.name}`;
}

/** Weeks of an agent's ordinary traffic in event time, REQUEST and RESPONSE per statement. */
export function normalTraffic(agent: Agent, o: TrafficOptions): IAccessEvent[] {
  const rand = fork(o.seed, `traffic:${agent.subject}`);
  const generations = deployGenerations(agent, o);
  const out: IAccessEvent[] = [];
  for (const start of sessionStarts(agent, o.from, o.to, rand)) {
    const count = intBetween(rand, agent.statements[0], agent.statements[1]);
    for (const e of sessionEvents(agent, rand, start, count, { origin: originAt(agent, generations, start, o.seed, rand), environment: o.environment })) {
      if (Number(e.time) < o.to) out.push(e);
    }
  }
  return out;
}
