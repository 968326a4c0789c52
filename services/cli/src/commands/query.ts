import type { ParsedArgs } from '../args.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../output/table.js';
import { openStoreReader } from '../store-access.js';
import { isNumericType } from '../store-api/store-query.js';

export async function runQuery(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config } = loadCliConfig(args.string('config'), ctx.env);
  const reader = await openStoreReader({ storeUrl: args.string('store-url'), stateDirFlag: args.string('state-dir'), config, env: ctx.env });
  try {
    const result = await reader.query(args.positionals[0] ?? '');
    if (args.flag('json')) {
      const names = result.columns.map((c) => c.name);
      ctx.out(JSON.stringify({ columns: result.columns, rows: result.rows.map((r) => Object.fromEntries(names.map((n, i) => [n, r[i] ?? null]))) }, bigintSafe));
    } else {
      ctx.out(formatTable(result.columns.map((c) => c.name), result.rows, { rightAlign: result.columns.map((c) => isNumericType(c.type)) }));
    }
    return ExitCode.ok;
  } finally {
    await reader.close();
  }
}

function bigintSafe(_key: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
