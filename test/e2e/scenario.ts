import { isPcxError, type PcxError } from '@portcullis/common';
import { createGatewayClient, type PortcullisGatewayClient } from '@portcullis/gateway';

/**
 * The insider scenario both modes run: an agent works from origin A until the
 * credential-origin baseline matures, then the same token is used from origin B. The
 * detector alerts and blocks the credential; the gateway must refuse B's next command.
 */
export interface ScenarioResult {
  /** The denial B finally got. */
  denial: PcxError;
  /** How many of B's commands ran before the block reached the gateway. */
  commandsFromBBeforeBlock: number;
}

export const ORIGIN_A = { host: 'build-runner-a', container: 'ctr-a1' };
export const ORIGIN_B = { host: 'laptop-of-mallory', container: 'ctr-evil' };

export async function runInsiderScenario(opts: { grpc: string; token: string; connection: string; sql: string; usesFromA: number; blockDeadlineMs: number }): Promise<ScenarioResult> {
  const fromA = createGatewayClient(opts.grpc, opts.token, ORIGIN_A);
  const fromB = createGatewayClient(opts.grpc, opts.token, ORIGIN_B);
  try {
    for (let i = 0; i < opts.usesFromA; i++) await fromA.exec(opts.connection, opts.sql);
    return await untilDenied(fromB, opts.connection, opts.sql, opts.blockDeadlineMs);
  } finally {
    fromA.close();
    fromB.close();
  }
}

async function untilDenied(client: PortcullisGatewayClient, connection: string, sql: string, deadlineMs: number): Promise<ScenarioResult> {
  const deadline = Date.now() + deadlineMs;
  let ran = 0;
  for (;;) {
    try {
      await client.exec(connection, sql);
      ran++;
    } catch (e) {
      if (isPcxError(e) && e.code === 'PCX_BLOCKED_BY_DECISION') return { denial: e, commandsFromBBeforeBlock: ran };
      throw e;
    }
    if (Date.now() > deadline) throw new Error(`origin B was never blocked; ${ran} commands ran`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Polls `probe` until it returns a value, or fails with the last error after the deadline. */
export async function eventually<T>(what: string, deadlineMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not after ${deadlineMs} ms${last ? `; last error: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
