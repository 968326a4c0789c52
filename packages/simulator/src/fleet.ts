import { between, chance, fork, intBetween, oneOf, type Rand } from './random.js';

/**
 * The agents of a simulated fleet. Each role is a kind of workload an operator runs
 * behind the gateway, with its own hours, tables, result sizes, PII and destinations;
 * each agent is one instance of a role with its own credential, origins, time zone and
 * (for scheduled jobs) a declared cron schedule.
 */
export type RoleName = 'etl' | 'reporting' | 'support' | 'payments';

export const ROLES: readonly RoleName[] = ['etl', 'reporting', 'support', 'payments'];

export interface TableUse {
  readonly table: string;
  /** Relative frequency among the role's statements. */
  readonly weight: number;
  /** Median rows a read returns and the log spread. */
  readonly rows: number;
  readonly sigma: number;
  /** PII detector hits per returned row, by detector. */
  readonly pii?: Readonly<Record<string, number>>;
  /** Share of statements on this table that write. */
  readonly writes?: number;
  /** Typical bytes per row. */
  readonly rowBytes: number;
}

export interface OriginSpec {
  readonly peerIp: string;
  readonly declaredHost: string;
  readonly containerId: string;
}

export interface Agent {
  readonly subject: string;
  readonly role: RoleName;
  readonly credentialId: string;
  readonly timeZone: string;
  /** Declared schedule (cron, local to timeZone); empty for agents whose hours are learned. */
  readonly cron: readonly string[];
  /** Local [from, to) working hours for unscheduled roles, and sessions per hour in them. */
  readonly hours: readonly [number, number];
  readonly weekendFactor: number;
  readonly sessionsPerHour: number;
  /** Statements per session (scheduled jobs: per run). */
  readonly statements: readonly [number, number];
  /** Seconds between statements. */
  readonly gapSeconds: readonly [number, number];
  readonly connection: { name: string; targetHost: string; targetDb: string };
  readonly tables: readonly TableUse[];
  readonly destinations: readonly string[];
  /** Replicas the agent runs as; a deploy replaces their containers. */
  readonly replicas: number;
  readonly containerized: boolean;
}

const ZONES: Record<RoleName, readonly string[]> = {
  etl: ['UTC', 'Europe/London', 'America/Chicago'],
  reporting: ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney', 'America/Los_Angeles'],
  support: ['Europe/Dublin', 'America/Denver', 'Asia/Singapore', 'America/Sao_Paulo'],
  payments: ['Europe/Amsterdam', 'America/New_York', 'UTC'],
};

const CONNECTIONS: Record<RoleName, Agent['connection']> = {
  etl: { name: 'orders-replica', targetHost: 'orders-replica.db.internal:5432', targetDb: 'orders' },
  reporting: { name: 'analytics', targetHost: 'analytics.db.internal:5432', targetDb: 'analytics' },
  support: { name: 'crm', targetHost: 'crm.db.internal:5432', targetDb: 'crm' },
  payments: { name: 'billing', targetHost: 'billing.db.internal:5432', targetDb: 'billing' },
};

/** The tables each role touches, core ones heavy and a long tail light (rare but benign). */
function tablesOf(role: RoleName, rand: Rand): TableUse[] {
  const jitter = (x: number) => x * between(rand, 0.6, 1.6);
  switch (role) {
    case 'etl':
      return [
        { table: 'orders', weight: 30, rows: jitter(4000), sigma: 0.9, rowBytes: 220, pii: { email: 0.2 } },
        { table: 'order_items', weight: 30, rows: jitter(12000), sigma: 0.9, rowBytes: 90 },
        { table: 'inventory', weight: 15, rows: jitter(2500), sigma: 0.7, rowBytes: 70 },
        { table: 'shipments', weight: 12, rows: jitter(1500), sigma: 0.8, rowBytes: 140 },
        { table: 'staging.orders_delta', weight: 20, rows: jitter(3000), sigma: 0.9, rowBytes: 220, writes: 0.8 },
        { table: 'warehouse_locations', weight: 1, rows: jitter(300), sigma: 0.5, rowBytes: 120 },
      ];
    case 'reporting':
      return [
        { table: 'daily_sales', weight: 35, rows: jitter(60), sigma: 0.9, rowBytes: 80 },
        { table: 'orders', weight: 20, rows: jitter(25), sigma: 1.0, rowBytes: 60 },
        { table: 'products', weight: 20, rows: jitter(40), sigma: 0.8, rowBytes: 150 },
        { table: 'regions', weight: 10, rows: jitter(12), sigma: 0.5, rowBytes: 50 },
        { table: 'marketing_spend', weight: 6, rows: jitter(30), sigma: 0.7, rowBytes: 70 },
        { table: 'churn_cohorts', weight: 1, rows: jitter(20), sigma: 0.6, rowBytes: 90 },
      ];
    case 'support':
      return [
        { table: 'customers', weight: 35, rows: jitter(2), sigma: 0.6, rowBytes: 400, pii: { email: 1, phone: 0.8 } },
        { table: 'orders', weight: 30, rows: jitter(4), sigma: 0.8, rowBytes: 200 },
        { table: 'tickets', weight: 25, rows: jitter(3), sigma: 0.7, rowBytes: 900, pii: { email: 0.3 }, writes: 0.3 },
        { table: 'order_items', weight: 12, rows: jitter(6), sigma: 0.8, rowBytes: 90 },
        { table: 'refunds', weight: 1.5, rows: jitter(2), sigma: 0.5, rowBytes: 160, writes: 0.2 },
      ];
    case 'payments':
      return [
        { table: 'payments', weight: 35, rows: jitter(600), sigma: 0.7, rowBytes: 180, pii: { iban: 0.4, card: 0.3 } },
        { table: 'invoices', weight: 25, rows: jitter(300), sigma: 0.7, rowBytes: 260, pii: { email: 0.5 } },
        { table: 'ledger_entries', weight: 30, rows: jitter(1200), sigma: 0.7, rowBytes: 110, writes: 0.3 },
        { table: 'payouts', weight: 8, rows: jitter(80), sigma: 0.6, rowBytes: 150, pii: { iban: 1 } },
        { table: 'fx_rates', weight: 2, rows: jitter(40), sigma: 0.4, rowBytes: 40 },
      ];
  }
}

/** Tables in the estate that agents do not normally read: where an insider goes looking. */
export const SENSITIVE_TABLES: readonly string[] = ['customers', 'payments', 'payouts', 'employees', 'payroll', 'api_keys', 'customer_documents', 'card_tokens'];

function cronFor(role: RoleName, rand: Rand): string[] {
  if (role === 'etl') {
    const hour = intBetween(rand, 0, 5);
    const minute = oneOf(rand, [0, 10, 15, 30, 45]);
    const daily = `${minute} ${hour} * * *`;
    // Some ETL agents also run a weekly compaction on Sunday afternoon.
    return chance(rand, 0.4) ? [daily, `${oneOf(rand, [0, 30])} ${intBetween(rand, 12, 16)} * * 0`] : [daily];
  }
  // payments: twice a day on business days.
  const morning = intBetween(rand, 5, 8);
  return [`${oneOf(rand, [5, 15, 20])} ${morning},${morning + 12} * * 1-5`];
}

function ipOf(rand: Rand, net: string): string {
  return `${net}.${intBetween(rand, 1, 254)}.${intBetween(rand, 2, 254)}`;
}

export function hexOf(rand: Rand, n: number): string {
  let s = '';
  while (s.length < n) s += Math.floor(rand() * 16).toString(16);
  return s;
}

/** `count` agents, roles drawn round robin from a shuffled start so small fleets still mix. */
export function generateFleet(seed: number, count: number): Agent[] {
  const rand = fork(seed, 'fleet');
  const start = intBetween(rand, 0, ROLES.length - 1);
  const agents: Agent[] = [];
  for (let i = 0; i < count; i++) {
    const role = ROLES[(start + i) % ROLES.length] as RoleName;
    const scheduled = role === 'etl' || role === 'payments';
    const id = `${role}-${String(i + 1).padStart(2, '0')}-${hexOf(rand, 4)}`;
    const replicas = role === 'support' ? intBetween(rand, 2, 3) : role === 'reporting' ? intBetween(rand, 1, 2) : 1;
    agents.push({
      subject: `agent:${id}`,
      role,
      credentialId: `pcx_${hexOf(rand, 12)}`,
      timeZone: oneOf(rand, ZONES[role]),
      cron: scheduled ? cronFor(role, rand) : [],
      hours: role === 'support' ? [intBetween(rand, 6, 8), intBetween(rand, 19, 22)] : [intBetween(rand, 8, 9), intBetween(rand, 17, 18)],
      weekendFactor: role === 'support' ? between(rand, 0.2, 0.5) : 0,
      sessionsPerHour: role === 'support' ? between(rand, 1, 3) : between(rand, 0.5, 1.2),
      statements: role === 'etl' ? [25, 70] : role === 'payments' ? [15, 45] : role === 'reporting' ? [3, 12] : [2, 8],
      gapSeconds: scheduled ? [5, 40] : [15, 120],
      connection: CONNECTIONS[role],
      tables: tablesOf(role, rand),
      destinations: role === 'etl' ? ['warehouse'] : role === 'reporting' ? ['bi-dashboard'] : role === 'support' ? ['helpdesk'] : ['ledger'],
      replicas,
      containerized: role !== 'payments',
    });
  }
  return agents;
}

/** The origins of an agent's replicas in one deploy generation. */
export function originsOf(agent: Agent, generation: number, seed: number): OriginSpec[] {
  const rand = fork(seed, `origins:${agent.subject}:${generation}`);
  const hostRand = fork(seed, `hosts:${agent.subject}`);
  const net = agent.containerized ? '10.42' : '10.8';
  const vm = `${agent.role}-vm-${hexOf(hostRand, 3)}`;
  return Array.from({ length: agent.replicas }, (_, i) =>
    agent.containerized
      ? { peerIp: ipOf(rand, net), declaredHost: `${agent.subject.slice(6)}-${hexOf(rand, 5)}-${i}`, containerId: hexOf(rand, 12) }
      : { peerIp: ipOf(hostRand, net), declaredHost: vm, containerId: '' },
  );
}
