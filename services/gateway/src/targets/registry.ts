import { PcxError, resolveSecretRef, type ConnectionConfig, type Logger } from '@portcullis/common';
import type { PipelineConnection } from '../exec/pipeline.js';
import { PostgresTarget } from './postgres.js';

/**
 * Builds a driver per configured connection, resolving each URL reference to a Secret
 * now (at start), so a missing variable or file fails the start and names the key.
 */
export function openConnections(
  connections: readonly ConnectionConfig[],
  env: Readonly<Record<string, string | undefined>>,
  logger: Logger,
): Map<string, PipelineConnection> {
  const out = new Map<string, PipelineConnection>();
  try {
    connections.forEach((c, i) => {
      const url = resolveSecretRef(c.url, `gateway.connections.${i}.url`, env);
      if (c.kind !== 'postgres') {
        throw new PcxError('PCX_CONFIG_INVALID', `gateway.connections.${i}.kind: ${c.kind} targets are not supported yet (postgres is)`, { key: `gateway.connections.${i}.kind` });
      }
      out.set(c.name, { config: c, target: new PostgresTarget(c, url, logger.child({ connection: c.name })) });
    });
  } catch (e) {
    for (const { target } of out.values()) void target.close();
    throw e;
  }
  return out;
}
