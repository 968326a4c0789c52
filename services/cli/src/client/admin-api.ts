import { isErrorCode, PcxError } from '@portcullis/common';
import type { ParsedArgs } from '../args.js';
import type { CliContext } from '../context.js';
import { readDemoFile, resolveStateDir } from '../state.js';

/**
 * The gateway's admin HTTP API as the CLI's operator commands (approvals, changes,
 * decisions) reach it: one address and token resolution, one request function that
 * turns a problem response back into the PcxError it names.
 */
export interface AdminTarget {
  readonly baseUrl: string;
  readonly token: string;
}

/**
 * Address and token: the flags, then $PORTCULLIS_TOKEN, then demo.json. `demoToken`
 * picks which demo token stands in: the agent's (`token`) or the operator's (`socToken`).
 */
export function resolveAdminTarget(args: ParsedArgs, ctx: CliContext, demoToken: 'token' | 'socToken' = 'token'): AdminTarget {
  let baseUrl = args.string('admin');
  let token = args.string('token') ?? ctx.env.token;
  if (baseUrl === undefined || token === undefined) {
    const demo = readDemoFile(resolveStateDir(args.string('state-dir'), undefined));
    baseUrl ??= demo?.admin;
    token ??= demo?.[demoToken];
  }
  if (baseUrl === undefined) throw new PcxError('PCX_BAD_REQUEST', 'no admin URL: pass --admin http://HOST:PORT, or run `portcullis start` (demo.json)');
  if (token === undefined) throw new PcxError('PCX_AUTH_MISSING', `no token: pass --token, set PORTCULLIS_TOKEN, or run \`portcullis start\` (${demoToken} in demo.json)`);
  return { baseUrl: baseUrl.replace(/\/+$/, ''), token };
}

/** One call to the admin API; a problem response becomes the PcxError it names (with its `field`, when it names one). */
export async function adminCall<T>(target: AdminTarget, method: 'GET' | 'POST' | 'DELETE', path: string, body?: object): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${target.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (e) {
    throw new PcxError('PCX_TARGET_UNAVAILABLE', `cannot reach the admin API at ${target.baseUrl}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!res.ok) {
    const p = (parsed ?? {}) as { code?: unknown; message?: unknown; field?: unknown };
    const code = typeof p.code === 'string' && isErrorCode(p.code) ? p.code : 'PCX_INTERNAL';
    throw new PcxError(code, typeof p.message === 'string' ? p.message : `HTTP ${res.status} from the admin API`, typeof p.field === 'string' ? { field: p.field } : {});
  }
  return parsed as T;
}
