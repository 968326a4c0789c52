import type { Logger } from '@portcullis/common';
import { logLevel, type logCreator } from 'kafkajs';

/**
 * kafkajs logs through pino. During a broker outage kafkajs repeats the same error on
 * every retry; identical messages are logged once per window and the repeats counted,
 * so an outage is a few lines, not a flood.
 */
export function pinoLogCreator(logger: Logger, repeatWindowMs = 10_000): logCreator {
  const seen = new Map<string, { at: number; suppressed: number }>();
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _ts, logger: _logger, ...extra } = log as { message: string; timestamp?: string; logger?: string } & Record<string, unknown>;
      const now = Date.now();
      const key = `${level}|${namespace}|${message}`;
      const last = seen.get(key);
      if (last && now - last.at < repeatWindowMs) {
        last.suppressed++;
        return;
      }
      if (seen.size > 1000) seen.clear();
      seen.set(key, { at: now, suppressed: 0 });
      const fields = { kafkajs: namespace, ...extra, ...(last && last.suppressed > 0 ? { repeatsSuppressed: last.suppressed } : {}) };
      switch (level) {
        case logLevel.ERROR:
        case logLevel.NOTHING:
          logger.error(fields, message);
          break;
        case logLevel.WARN:
          logger.warn(fields, message);
          break;
        case logLevel.INFO:
          logger.info(fields, message);
          break;
        default:
          logger.debug(fields, message);
      }
    };
}
