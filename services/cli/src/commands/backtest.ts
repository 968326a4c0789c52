import { PcxError } from '@portcullis/common';
import type { ParsedArgs } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { openStoreReader } from '../store-access.js';

/**
 * `portcullis backtest --from --to`: stored events of a window (events FINAL, in time
 * order) replayed through a fresh DetectorCore with the config's detectors. Reports what
 * would have fired; publishes nothing.
 */
export async function runBacktest(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const from = isoTime(args.string('from'), '--from');
  const to = isoTime(args.string('to'), '--to');
  if (!(to > from)) throw new PcxError('PCX_BAD_REQUEST', 'backtest: --to must be after --from');
  const { config } = loadCliConfig(args.string('config'), ctx.env);
  const { backtestEvents, formatBacktest, readStoredEvents } = await import('@portcullis/simulator');
  const reader = await openStoreReader({ storeUrl: args.string('store-url'), stateDirFlag: args.string('state-dir'), config, env: ctx.env });
  try {
    const events = [];
    for await (const e of readStoredEvents((sql) => reader.query(sql), config.store.database, from, to)) events.push(e);
    const report = backtestEvents(events, config.detectors, { from, to });
    ctx.out(args.flag('json') ? JSON.stringify(report) : formatBacktest(report));
    return ExitCode.ok;
  } finally {
    await reader.close();
  }
}

function isoTime(v: string | undefined, flag: string): number {
  if (v === undefined) throw new PcxError('PCX_BAD_REQUEST', `backtest: ${flag} is required (ISO 8601 time)`);
  const t = Date.parse(v);
  if (!Number.isFinite(t)) throw new PcxError('PCX_BAD_REQUEST', `backtest: ${flag} ${JSON.stringify(v)} is not an ISO 8601 time`);
  return t;
}
