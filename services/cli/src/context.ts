import type { CliEnv } from './env.js';

/** What a command gets from main: its environment and where to write. */
export interface CliContext {
  readonly env: CliEnv;
  out(text: string): void;
  err(text: string): void;
}
