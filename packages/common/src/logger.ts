import { pino, destination as pinoDestination } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured logs on stderr (stdout belongs to CLI output). Paths that could carry a
 * credential or a raw value are censored as a second line of defence; the first is that
 * secrets are Secret objects and rows never reach a log call.
 */
export function createLogger(name: string, level: string = 'info', destination: number = 2): Logger {
  return pino(
    {
      name,
      level,
      base: { component: name },
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'authorization', '*.authorization', 'url', '*.url', 'rows', '*.rows', 'payload', '*.payload'],
        censor: '[redacted]',
      },
    },
    pinoDestination({ dest: destination, sync: false }),
  );
}

/** A logger that drops everything, for tests and benches. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
