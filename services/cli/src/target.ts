import { PcxError } from '@portcullis/common';
import type { CliEnv } from './env.js';
import type { DemoFile } from './state.js';

/**
 * Where `exec` sends its command and as whom. Each of address and token is taken from,
 * in order: the flag, the environment, the demo.json of a running `portcullis start`.
 * demo.json is only read when something is still missing.
 */
export interface GatewayTarget {
  address: string;
  token: string;
}

export function resolveGatewayTarget(flags: { gateway?: string | undefined; token?: string | undefined }, env: CliEnv, demo: () => DemoFile | undefined): GatewayTarget {
  let address = flags.gateway ?? env.gateway;
  let token = flags.token ?? env.token;
  if (address === undefined || token === undefined) {
    const d = demo();
    address ??= d?.grpc;
    token ??= d?.token;
  }
  if (address === undefined) {
    throw new PcxError('PCX_BAD_REQUEST', 'no gateway address: pass --gateway HOST:PORT, set PORTCULLIS_GATEWAY, or run `portcullis start` (demo.json)');
  }
  if (token === undefined) {
    throw new PcxError('PCX_AUTH_MISSING', 'no token: pass --token, set PORTCULLIS_TOKEN, or run `portcullis start` (demo.json)');
  }
  return { address, token };
}
