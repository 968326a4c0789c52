import { describe, it, expect } from 'vitest';
import { parseCommandArgs, UsageError } from '../src/args.js';
import { ALERTS, COMMANDS, EXEC, START } from '../src/commands/specs.js';
import { main } from '../src/main.js';
import { cliEnvFrom } from '../src/env.js';
import type { CliContext } from '../src/context.js';

function capture(): CliContext & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { env: cliEnvFrom({}), stdout, stderr, out: (t) => stdout.push(t), err: (t) => stderr.push(t) };
}

describe('parseCommandArgs', () => {
  it('reads flags, short flags and the positional', () => {
    const a = parseCommandArgs(EXEC, ['-c', 'demo', '--json', '--host', 'runner-1', 'select 1']);
    expect(a.string('connection')).toBe('demo');
    expect(a.flag('json')).toBe(true);
    expect(a.string('host')).toBe('runner-1');
    expect(a.positionals).toEqual(['select 1']);
    expect(a.help).toBe(false);
  });

  it('rejects an unknown flag with the command usage', () => {
    expect(() => parseCommandArgs(EXEC, ['--nope', 'x'])).toThrow(UsageError);
    try {
      parseCommandArgs(EXEC, ['--nope', 'x']);
    } catch (e) {
      expect((e as UsageError).usage).toBe(EXEC.usage);
    }
  });

  it('rejects missing and extra positionals', () => {
    expect(() => parseCommandArgs(EXEC, ['-c', 'demo'])).toThrow(/expected <command>/);
    expect(() => parseCommandArgs(EXEC, ['-c', 'demo', 'a', 'b'])).toThrow(UsageError);
    expect(() => parseCommandArgs(START, ['extra'])).toThrow(/expected no arguments/);
  });

  it('lets --help through without positionals', () => {
    expect(parseCommandArgs(EXEC, ['--help']).help).toBe(true);
  });

  it('validates ports and integers', () => {
    expect(parseCommandArgs(START, ['--grpc-port', '0']).port('grpc-port')).toBe(0);
    expect(parseCommandArgs(START, ['--grpc-port', '7443']).port('grpc-port')).toBe(7443);
    expect(() => parseCommandArgs(START, ['--grpc-port', '70000']).port('grpc-port')).toThrow(UsageError);
    expect(() => parseCommandArgs(START, ['--admin-port', 'abc']).port('admin-port')).toThrow(UsageError);
    expect(() => parseCommandArgs(ALERTS, ['--limit', '0']).int('limit')).toThrow(UsageError);
    expect(parseCommandArgs(ALERTS, ['--limit', '5']).int('limit')).toBe(5);
  });
});

describe('main dispatch', () => {
  it('prints the overview for --help with exit 0', async () => {
    const c = capture();
    expect(await main(['--help'], c)).toBe(0);
    for (const cmd of COMMANDS) expect(c.stdout.join('\n')).toContain(cmd.name);
  });

  it('prints per-command help', async () => {
    const c = capture();
    expect(await main(['exec', '--help'], c)).toBe(0);
    expect(c.stdout.join('\n')).toBe(EXEC.usage);
  });

  it('exits 64 with usage on no command, an unknown command, or an unknown flag', async () => {
    const none = capture();
    expect(await main([], none)).toBe(64);
    expect(none.stderr.join('\n')).toContain('Usage: portcullis <command>');

    const unknown = capture();
    expect(await main(['frobnicate'], unknown)).toBe(64);
    expect(unknown.stderr.join('\n')).toMatch(/unknown command "frobnicate"[\s\S]*Usage:/);

    const badFlag = capture();
    expect(await main(['exec', '-c', 'demo', '--bogus', 'select 1'], badFlag)).toBe(64);
    expect(badFlag.stderr.join('\n')).toContain('Usage: portcullis exec');
  });

  it('exits 64 when exec has no connection', async () => {
    const c = capture();
    expect(await main(['exec', 'select 1'], c)).toBe(64);
    expect(c.stderr.join('\n')).toMatch(/--connection/);
  });
});
