import { isErrorCode, PcxError } from '@portcullis/common';
import type { StoreResult } from './store-query.js';

/** Asks a running `portcullis start` to run a query on its store (see server.ts for why). */
export async function queryStoreApi(url: string, token: string, sql: string): Promise<StoreResult> {
  let res: Response;
  try {
    res = await fetch(`${url}/query`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sql }),
    });
  } catch (e) {
    throw new PcxError('PCX_STORE_UNAVAILABLE', `cannot reach the running portcullis at ${url}: ${(e as Error).message}`, {}, { cause: e });
  }
  const body = (await res.json().catch(() => ({}))) as Partial<StoreResult> & { code?: string; message?: string };
  if (!res.ok) {
    const code = body.code && isErrorCode(body.code) ? body.code : 'PCX_STORE_UNAVAILABLE';
    throw new PcxError(code, body.message ?? `HTTP ${res.status}`);
  }
  return { columns: body.columns ?? [], rows: body.rows ?? [] };
}
