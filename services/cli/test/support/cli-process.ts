import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Runs the built CLI (dist/main.js) as the user would. `npm test` builds every package
 * with turbo before vitest; when a developer runs vitest alone after editing the CLI,
 * ensureCliBuilt() rebuilds it (other packages' dist must exist: `npm run build`).
 */
export const CLI_DIR = fileURLToPath(new URL('../..', import.meta.url));
export const CLI_MAIN = join(CLI_DIR, 'dist', 'main.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export function ensureCliBuilt(): void {
  if (existsSync(CLI_MAIN) && statSync(CLI_MAIN).mtimeMs >= newestMtime(join(CLI_DIR, 'src'))) return;
  execFileSync(process.execPath, [join(CLI_DIR, '..', '..', 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(CLI_DIR, 'tsconfig.build.json')], { stdio: 'inherit' });
}

/** The environment without PORTCULLIS_* so a developer's shell cannot steer a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('PORTCULLIS_')) env[k] = v;
  return { ...env, ...extra };
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI_MAIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** A long-running CLI process and the lines it has printed. */
export interface CliServer {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first stdout line matching `re`; rejects if the process exits first. */
  waitForLine(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, then SIGKILL if it has not exited in time; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv()): CliServer {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitForLine(re, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const line = out.split('\n').find((l) => re.test(l));
          if (line !== undefined) {
            cleanup();
            resolve(line);
            return true;
          }
          return false;
        };
        const onData = (): void => void check();
        const onExit = (code: number | null): void => {
          cleanup();
          reject(new Error(`exited with ${code} before ${re}:\n${out}\n${err.slice(-4000)}`));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no ${re} within ${timeoutMs} ms:\n${out}\n${err.slice(-4000)}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          child.off('exit', onExit);
        };
        child.stdout?.on('data', onData);
        child.once('exit', onExit);
        check();
      });
    },
    async stop(timeoutMs = 20_000) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
