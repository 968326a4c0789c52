import { PcxError } from '@portcullis/common';
import type { ParsedArgs } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { openStoreReader, type StoreReader } from '../store-access.js';

/** The store schema that holds config drift's inputs (MANIFEST/CONFIG payloads, the changes table). */
const DRIFT_SCHEMA_VERSION = 2;

/**
 * `portcullis backtest --from --to`: stored events of a window (events FINAL, in time
 * order) replayed through a fresh DetectorCore with the config's detectors, config drift
 * reading the stored records of portcullis.changes as the topic held them at --to.
 * Reports what would have fired; publishes nothing.
 */
export async function runBacktest(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const from = isoTime(args.string('from'), '--from');
  const to = isoTime(args.string('to'), '--to');
  if (!(to > from)) throw new PcxError('PCX_BAD_REQUEST', 'backtest: --to must be after --from');
  const { config } = loadCliConfig(args.string('config'), ctx.env);
  const { backtestEvents, formatBacktest, readStoredChanges, readStoredEvents } = await import('@portcullis/simulator');
  const reader = await openStoreReader({ storeUrl: args.string('store-url'), stateDirFlag: args.string('state-dir'), config, env: ctx.env });
  try {
    const query = (sql: string) => reader.query(sql);
    const database = config.store.database;
    await requireSchema(reader, database);
    const changes = await readStoredChanges(query, database, to);
    const events = [];
    for await (const e of readStoredEvents(query, database, from, to)) events.push(e);
    const report = backtestEvents(events, config.detectors, { from, to }, changes);
    ctx.out(args.flag('json') ? JSON.stringify(report) : formatBacktest(report));
    return ExitCode.ok;
  } finally {
    await reader.close();
  }
}

/** A store the sink has not yet migrated lacks config drift's columns; say so rather than fail on a missing column. */
async function requireSchema(reader: StoreReader, database: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/i.test(database)) throw new PcxError('PCX_CONFIG_INVALID', 'store.database must be an identifier', { database });
  const r = await reader.query(`SELECT max(version) AS v FROM ${database}.schema_migrations`);
  const version = Number(r.rows[0]?.[0] ?? 0);
  if (version < DRIFT_SCHEMA_VERSION) {
    throw new PcxError('PCX_STORE_UNAVAILABLE', `backtest: the event store (${reader.description}) is at schema version ${version}; it needs ${DRIFT_SCHEMA_VERSION}, which stores config drift's inputs. Migrations run when the sink or \`portcullis start\` starts.`, { version });
  }
}

function isoTime(v: string | undefined, flag: string): number {
  if (v === undefined) throw new PcxError('PCX_BAD_REQUEST', `backtest: ${flag} is required (ISO 8601 time)`);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new PcxError('PCX_BAD_REQUEST', `backtest: ${flag} ${JSON.stringify(v)} is not an ISO 8601 time`);
  return t;
}
