#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, UsageError, type CommandSpec, type ParsedArgs } from './args.js';
import { COMMANDS, MAIN_USAGE } from './commands/specs.js';
import type { CliContext } from './context.js';
import { readProcessEnv } from './env.js';
import { errorLine, exitCodeFor, ExitCode } from './exit-codes.js';

type Handler = (args: ParsedArgs, ctx: CliContext) => Promise<number>;

/** Handlers load lazily: `exec` must not pay for chdb's native engine or PGlite's WASM. */
const HANDLERS: Record<string, () => Promise<Handler>> = {
  start: async () => (await import('./commands/start.js')).runStart,
  gateway: async () => (await import('./commands/components.js')).runGatewayOnly,
  detectors: async () => (await import('./commands/components.js')).runDetectorsOnly,
  sink: async () => (await import('./commands/components.js')).runSinkOnly,
  exec: async () => (await import('./commands/exec.js')).runExec,
  query: async () => (await import('./commands/query.js')).runQuery,
  alerts: async () => (await import('./commands/alerts.js')).runAlerts,
  approvals: async () => (await import('./commands/approvals.js')).runApprovals,
  changes: async () => (await import('./commands/changes.js')).runChanges,
  decisions: async () => (await import('./commands/decisions.js')).runDecisions,
  simulate: async () => (await import('./commands/simulate.js')).runSimulate,
  backtest: async () => (await import('./commands/backtest.js')).runBacktest,
};

export async function main(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? COMMANDS.find((c) => c.name === rest[0]) : undefined;
    (name === undefined ? ctx.err : ctx.out)(topic?.usage ?? MAIN_USAGE);
    return name === undefined ? ExitCode.usage : ExitCode.ok;
  }
  const spec: CommandSpec | undefined = COMMANDS.find((c) => c.name === name);
  const load = HANDLERS[name];
  if (!spec || !load) {
    ctx.err(`portcullis: unknown command ${JSON.stringify(name)}\n\n${MAIN_USAGE}`);
    return ExitCode.usage;
  }
  try {
    const args = parseCommandArgs(spec, rest);
    if (args.help) {
      ctx.out(spec.usage);
      return ExitCode.ok;
    }
    return await (await load())(args, ctx);
  } catch (e) {
    if (e instanceof UsageError) {
      ctx.err(`${e.message}\n\n${e.usage}`);
      return ExitCode.usage;
    }
    ctx.err(errorLine(e));
    return exitCodeFor(e);
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    // npm's bin shim is a symlink; compare real paths.
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const ctx: CliContext = {
    env: readProcessEnv(),
    out: (text) => process.stdout.write(text + '\n'),
    err: (text) => process.stderr.write(text + '\n'),
  };
  main(process.argv.slice(2), ctx).then(
    (code) => {
      // Long-running commands resolve only after their shutdown, so exiting here never
      // cuts one short, and a stray handle (a gRPC channel, a native engine) cannot keep a
      // one-shot command alive. stdout and stderr are synchronous for files and pipes.
      process.exit(code);
    },
    (e: unknown) => {
      process.stderr.write(errorLine(e) + '\n');
      process.exit(ExitCode.failure);
    },
  );
}
