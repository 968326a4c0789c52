import { randomBytes } from 'node:crypto';
import { createLogger, Topics, type PortcullisConfig } from '@portcullis/common';
import type { ParsedArgs } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { ALERT_COLUMNS, ALERT_RIGHT_ALIGN, alertCells, alertFromOcsf, alertFromRow, alertLine, alertsSql, type AlertView } from '../output/alerts.js';
import { formatTable } from '../output/table.js';
import { openStoreReader, type StoreReader } from '../store-access.js';
import { untilSignal } from '../signals.js';

export async function runAlerts(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const configPath = args.string('config') ?? ctx.env.config;
  const { config } = loadCliConfig(args.string('config'), ctx.env);
  const json = args.flag('json');
  const print = (alerts: readonly AlertView[], asTable: boolean): void => {
    if (json) for (const a of alerts) ctx.out(JSON.stringify(a));
    else if (asTable) ctx.out(formatTable(ALERT_COLUMNS, alerts.map(alertCells), { rightAlign: ALERT_RIGHT_ALIGN }));
    else for (const a of alerts) ctx.out(alertLine(a));
  };

  // With a Kafka config, --follow reads the topic itself: alerts show as detectors raise
  // them, before the sink has landed them in the store.
  if (args.flag('follow') && configPath !== undefined && config.bus.kind === 'kafka') {
    await tailKafka(config, (a) => print([a], false));
    return ExitCode.ok;
  }

  const reader = await openStoreReader({ storeUrl: args.string('store-url'), stateDirFlag: args.string('state-dir'), config, env: ctx.env });
  try {
    const db = config.store.database;
    let alerts = await fetchAlerts(reader, alertsSql(db, { limit: args.int('limit') ?? 50 }));
    print(alerts, true);
    if (!args.flag('follow')) return ExitCode.ok;
    let last = alerts.at(-1)?.updatedAt;
    const intervalMs = args.int('interval-ms') ?? 2000;
    await untilSignal(async (stopped) => {
      while (!stopped()) {
        await new Promise((r) => setTimeout(r, intervalMs));
        if (stopped()) break;
        alerts = await fetchAlerts(reader, alertsSql(db, { limit: 1000, updatedAfter: last }));
        if (alerts.length > 0) {
          print(alerts, false);
          last = alerts.at(-1)?.updatedAt ?? last;
        }
      }
    });
    return ExitCode.ok;
  } finally {
    await reader.close();
  }
}

async function fetchAlerts(reader: StoreReader, sql: string): Promise<AlertView[]> {
  const r = await reader.query(sql);
  const names = r.columns.map((c) => c.name);
  return r.rows.map((row) => alertFromRow(names, row));
}

async function tailKafka(config: PortcullisConfig, onAlert: (a: AlertView) => void): Promise<void> {
  const { createBus } = await import('@portcullis/bus');
  const logger = createLogger('cli-alerts', config.log.level === 'info' ? 'warn' : config.log.level);
  const bus = createBus(config.bus, logger);
  try {
    // A group of its own, starting at the end: a tail, not a replay, and no offsets shared with the sink.
    const sub = await bus.subscribe({
      groupId: `portcullis-cli-alerts-${randomBytes(6).toString('hex')}`,
      topics: [Topics.alerts],
      fromBeginning: false,
      handler: async (batch) => {
        for (const r of batch.records) {
          const a = r.value ? alertFromOcsf(r.value.toString('utf8')) : undefined;
          if (a) onAlert(a);
        }
      },
    });
    await untilSignal(async (stopped) => {
      while (!stopped()) await new Promise((r) => setTimeout(r, 200));
    });
    await sub.close();
  } finally {
    await bus.close();
  }
}
