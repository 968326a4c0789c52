import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * Command-line parsing on node:util parseArgs, strict: an unknown flag, a missing value
 * or a wrong number of positionals is a UsageError, which main turns into exit 64 with
 * the command's usage.
 */
export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  /** The synopsis and option list shown by `portcullis <name> --help`. */
  readonly usage: string;
  readonly options: OptionSpecs;
  /** Names of the positionals, in order; a trailing `?` marks an optional one. */
  readonly positionals: readonly string[];
}

export class UsageError extends Error {
  constructor(
    message: string,
    /** The usage text to print with the error. */
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ParsedArgs {
  readonly positionals: readonly string[];
  /** True when --help was given. */
  readonly help: boolean;
  string(name: string): string | undefined;
  flag(name: string): boolean;
  /** A TCP port (0 = a free port). */
  port(name: string): number | undefined;
  /** A positive integer. */
  int(name: string): number | undefined;
}

const HELP: OptionSpecs = { help: { type: 'boolean', short: 'h' } };

export function parseCommandArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options: { ...spec.options, ...HELP }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message, spec.usage);
  }
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const help = values.help === true;
  const required = spec.positionals.filter((p) => !p.endsWith('?')).length;
  if (!help && (parsed.positionals.length < required || parsed.positionals.length > spec.positionals.length)) {
    const want = spec.positionals.length === 0 ? 'no arguments' : spec.positionals.map((p) => `<${p.replace(/\?$/, '')}>`).join(' ');
    throw new UsageError(`portcullis ${spec.name}: expected ${want}, got ${parsed.positionals.length}`, spec.usage);
  }
  const string = (name: string): string | undefined => {
    const v = values[name];
    return typeof v === 'string' ? v : undefined;
  };
  const integer = (name: string, min: number, max: number, what: string): number | undefined => {
    const v = string(name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new UsageError(`--${name}: ${what}, got ${JSON.stringify(v)}`, spec.usage);
    return Number(v);
  };
  return {
    positionals: parsed.positionals,
    help,
    string,
    flag: (name) => values[name] === true,
    port: (name) => integer(name, 0, 65535, 'a port number 0-65535 (0 = a free port)'),
    int: (name) => integer(name, 1, Number.MAX_SAFE_INTEGER, 'a positive integer'),
  };
}
