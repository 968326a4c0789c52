import { userInfo } from 'node:os';
import { createLogger, Topics, type Logger } from '@portcullis/common';
import type { Bus } from '@portcullis/bus';
import type { DecisionLiftResult, DecisionRowView } from '@portcullis/gateway';
import { decodeDecision, type Decision } from '@portcullis/proto';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../output/table.js';
import { adminCall, resolveAdminTarget } from '../client/admin-api.js';

export const DECISIONS: CommandSpec = {
  name: 'decisions',
  summary: 'list block decisions in force and lift one (SOC)',
  positionals: ['action', 'subject?'],
  options: {
    config: { type: 'string' },
    reason: { type: 'string' },
    by: { type: 'string' },
    json: { type: 'boolean' },
    admin: { type: 'string' },
    token: { type: 'string' },
    'state-dir': { type: 'string' },
  },
  usage: `Usage: portcullis decisions list [--json] [--config FILE | --admin URL --token TOKEN]
       portcullis decisions lift SUBJECT --reason TEXT [--by WHO] [--config FILE | --admin URL --token TOKEN]

Block decisions on portcullis.decisions. SUBJECT is the decision key: credential:<id>,
identity:<subject>, origin:<ip>|<host>|<container> or session:<id>. Lifting publishes a
tombstone for that key; every gateway of the environment drops the block when it reads it.
The tombstone carries who lifted it and why (headers lifted-by, reason, lifted-at,
decision-id), and the lift is logged.

With a config whose bus is Kafka (--config or $PORTCULLIS_CONFIG, the distributed mode)
the topic is read and written directly, and --by names who lifts (default: the OS user).
Otherwise it goes through a gateway's admin HTTP API (GET /decisions, DELETE
/decisions/SUBJECT), as a member of gateway.decisions.adminGroups (default soc); lifted-by
is then the subject of your token. The admin URL comes from --admin, else the demo.json of a
running \`portcullis start\`; the token from --token, else $PORTCULLIS_TOKEN, else the
operator's socToken in demo.json.
Exit status: 0 ok, 2 refused (not in an admin group), 1 nothing to lift or failed, 64 usage.

Options:
  --config FILE   config file whose bus is Kafka (default: $PORTCULLIS_CONFIG)
  --admin URL     the gateway's admin base URL (http://127.0.0.1:7080)
  --token TOKEN   a bearer token of a member of gateway.decisions.adminGroups
  --reason TEXT   why the block is lifted (required for lift)
  --by WHO        Kafka only: who lifts it (default: the OS user)
  --json          list: one JSON object per decision
  --state-dir DIR where demo.json is (default ./.portcullis)`,
};

/** One decision in force: the gateway admin API's row, so `list` prints the same shape from Kafka or over HTTP. */
export type DecisionRow = DecisionRowView;

/** The decisions in force on the topic: latest value per key, tombstones lift, expired ones left out. */
export async function listDecisions(bus: Bus, topic: string, now: number): Promise<DecisionRow[]> {
  const latest = new Map<string, Decision>();
  await bus.readToEnd(topic, (r) => {
    const key = r.key?.toString('utf8') ?? '';
    if (!key) return;
    if (r.value === null) {
      latest.delete(key);
      return;
    }
    try {
      latest.set(key, decodeDecision(r.value));
    } catch {
      // An undecodable record is no decision (the gateways skip it alike).
    }
  });
  const rows: DecisionRow[] = [];
  for (const [subject, d] of latest) {
    const expiresAt = Number(d.expiresAt ?? 0);
    if (expiresAt !== 0 && expiresAt <= now) continue;
    rows.push({ subject, decisionId: d.decisionId, source: d.source, reason: d.reason, alertId: d.alertId, environment: d.environment, createdAt: Number(d.createdAt ?? 0), expiresAt });
  }
  return rows.sort((a, b) => a.createdAt - b.createdAt || (a.subject < b.subject ? -1 : 1));
}

/**
 * Lifts the block on `subject`: a tombstone for its key on the decisions topic, with who
 * and why in its headers, and a log line. Returns the decision it lifted (undefined when
 * none was in force — the tombstone is published anyway, so a block racing in from
 * another reader's stale view is lifted too).
 */
export async function liftDecision(bus: Bus, topic: string, subject: string, by: string, reason: string, logger: Logger, now = Date.now()): Promise<DecisionRow | undefined> {
  const current = (await listDecisions(bus, topic, now)).find((d) => d.subject === subject);
  const producer = await bus.producer();
  try {
    await producer.send(topic, [{ key: subject, value: null, headers: { 'lifted-by': by, reason, 'lifted-at': String(now), ...(current ? { 'decision-id': current.decisionId } : {}) } }]);
  } finally {
    await producer.close();
  }
  logger.warn({ subject, liftedBy: by, reason, decisionId: current?.decisionId, source: current?.source }, 'block decision lifted');
  return current;
}

const when = (ms: number) => (ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never');


function printRows(rows: DecisionRow[], args: ParsedArgs, ctx: CliContext): void {
  if (args.flag('json')) for (const r of rows) ctx.out(JSON.stringify(r));
  else ctx.out(formatTable(['subject', 'source', 'created', 'expires', 'reason', 'decision'], rows.map((r) => [r.subject, r.source, when(r.createdAt), when(r.expiresAt), r.reason, r.decisionId])));
}

function liftArgs(subject: string | undefined, args: ParsedArgs): { subject: string; reason: string } {
  if (!subject || !/^(credential|identity|origin|session):./.test(subject)) throw new UsageError('portcullis decisions lift: SUBJECT is credential:<id>, identity:<subject>, origin:<…> or session:<id>', DECISIONS.usage);
  const reason = args.string('reason');
  if (!reason) throw new UsageError('portcullis decisions lift: --reason is required (it is recorded with the lift)', DECISIONS.usage);
  return { subject, reason };
}

/** The embedded mode (and any gateway's admin API): the gateway publishes on its own bus. */
async function runOnAdminApi(action: 'list' | 'lift', subject: string | undefined, args: ParsedArgs, ctx: CliContext): Promise<number> {
  if (action === 'list') {
    const { decisions } = await adminCall<{ decisions: DecisionRow[] }>(resolveAdminTarget(args, ctx, 'socToken'), 'GET', '/decisions');
    printRows(decisions, args, ctx);
    return ExitCode.ok;
  }
  const lift = liftArgs(subject, args);
  if (args.string('by') !== undefined) throw new UsageError('portcullis decisions lift: --by is for the Kafka mode; through the admin API the lift is recorded as the subject of your token', DECISIONS.usage);
  const r = await adminCall<DecisionLiftResult>(resolveAdminTarget(args, ctx, 'socToken'), 'DELETE', `/decisions/${encodeURIComponent(lift.subject)}`, { reason: lift.reason });
  ctx.out(r.lifted ? `lifted ${lift.subject} (decision ${r.lifted.decisionId} from ${r.lifted.source}) by ${r.liftedBy}: ${lift.reason}` : `no block in force on ${lift.subject}; published a tombstone anyway (by ${r.liftedBy})`);
  return r.lifted ? ExitCode.ok : ExitCode.failure;
}

export async function runDecisions(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const action = args.positionals[0] ?? '';
  const subject = args.positionals[1];
  if (action !== 'list' && action !== 'lift') throw new UsageError(`portcullis decisions: unknown action ${JSON.stringify(action)} (list, lift)`, DECISIONS.usage);
  const configPath = args.string('config') ?? ctx.env.config;
  const { config } = loadCliConfig(args.string('config'), ctx.env);
  if (configPath === undefined || config.bus.kind !== 'kafka' || args.string('admin') !== undefined) {
    // The embedded mode's bus lives inside the running `portcullis start`: its admin API publishes for us.
    return runOnAdminApi(action, subject, args, ctx);
  }
  const logger = createLogger('cli-decisions', config.log.level === 'info' ? 'warn' : config.log.level);
  const { createBus } = await import('@portcullis/bus');
  const bus = createBus(config.bus, logger);
  try {
    if (action === 'list') {
      printRows(await listDecisions(bus, Topics.decisions, Date.now()), args, ctx);
      return ExitCode.ok;
    }
    const lift = liftArgs(subject, args);
    const by = args.string('by') ?? userInfo().username;
    const lifted = await liftDecision(bus, Topics.decisions, lift.subject, by, lift.reason, logger);
    ctx.out(lifted ? `lifted ${lift.subject} (decision ${lifted.decisionId} from ${lifted.source}) by ${by}: ${lift.reason}` : `no block in force on ${lift.subject}; published a tombstone anyway (by ${by})`);
    return ExitCode.ok;
  } finally {
    await bus.close();
  }
}
