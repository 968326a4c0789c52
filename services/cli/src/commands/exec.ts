import { UsageError, type ParsedArgs } from '../args.js';
import { execOnGateway } from '../client/gateway-exec.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../output/table.js';
import { readDemoFile, resolveStateDir } from '../state.js';
import { resolveGatewayTarget } from '../target.js';
import { afterHold } from './approvals.js';
import { EXEC } from './specs.js';

const NUMERIC_TYPE = /^(int[248]?|integer|bigint|smallint|numeric|decimal|float[48]?|real|double( precision)?|oid|u?int\d+|float\d+)$/i;

export async function runExec(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const connection = args.string('connection');
  if (!connection) throw new UsageError('portcullis exec: --connection (-c) is required', EXEC.usage);
  const command = args.positionals[0] ?? '';
  const target = resolveGatewayTarget({ gateway: args.string('gateway'), token: args.string('token') }, ctx.env, () => readDemoFile(resolveStateDir(args.string('state-dir'), undefined)));
  const call = { ...target, connection, command, host: args.string('host'), container: args.string('container'), destination: args.string('destination'), approvalId: args.string('approval') };
  const result = await execOnGateway(call).catch((e: unknown) => afterHold(e, call, args.int('wait'), ctx));
  if (args.flag('json')) {
    ctx.out(JSON.stringify(result));
  } else if (result.columns.length > 0) {
    // Drivers hand bigint and numeric over as text; the column type says they are numbers.
    const rightAlign = result.columns.map((c, i) => NUMERIC_TYPE.test(c.type) || (result.rows.length > 0 && result.rows.every((r) => typeof r[i] === 'number' || r[i] === null)));
    ctx.out(formatTable(result.columns.map((c) => c.name), result.rows, { rightAlign }));
  } else {
    ctx.out(result.commandTag || `(${result.rowCount} rows)`);
  }
  return ExitCode.ok;
}
