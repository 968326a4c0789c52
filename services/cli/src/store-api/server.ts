import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isPcxError, PcxError, type Logger } from '@portcullis/common';
import { runStoreQuery, type StoreQueryable } from './store-query.js';

/**
 * The running `portcullis start`'s store, lent to `portcullis query` and `alerts`.
 *
 * Why it exists: chdb binds a data directory to one process — a second process opening
 * <state>/chdb fails with "Cannot lock file …/status. Another server instance in same
 * directory is already running" (checked with chdb 3.4.0) — so while `start` runs, other
 * CLI processes must ask it. Loopback only, POST /query with a bearer token that is not the
 * agent's (an agent must not read the audit trail), read-only queries, bounded bodies.
 */
export interface StoreApi {
  readonly url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1 << 20;

export async function startStoreApi(opts: { client: StoreQueryable; token: string; logger: Logger; port?: number }): Promise<StoreApi> {
  const want = digest(opts.token);
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      opts.logger.warn({ err: (e as Error).message }, 'store api request failed');
      if (!res.headersSent) send(res, 500, { code: 'PCX_INTERNAL', message: 'internal error' });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.url !== '/query') return send(res, 404, { code: 'PCX_NOT_FOUND', message: 'POST /query' });
    if (req.method !== 'POST') return send(res, 405, { code: 'PCX_BAD_REQUEST', message: 'POST /query' });
    const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
    if (!m) return send(res, 401, { code: 'PCX_AUTH_MISSING', message: 'no bearer token' });
    if (!timingSafeEqual(digest(m[1] ?? ''), want)) return send(res, 401, { code: 'PCX_AUTH_INVALID', message: 'the bearer token is not valid' });
    let sql: unknown;
    try {
      sql = (JSON.parse(await readBody(req)) as { sql?: unknown }).sql;
    } catch (e) {
      return send(res, isPcxError(e) ? e.httpStatus : 400, { code: isPcxError(e) ? e.code : 'PCX_BAD_REQUEST', message: isPcxError(e) ? e.message : 'body must be JSON {"sql": "…"}' });
    }
    if (typeof sql !== 'string' || sql.trim() === '') return send(res, 400, { code: 'PCX_BAD_REQUEST', message: 'body must be JSON {"sql": "…"}' });
    try {
      send(res, 200, await runStoreQuery(opts.client, sql));
    } catch (e) {
      const err = isPcxError(e) ? e : new PcxError('PCX_STORE_UNAVAILABLE', (e as Error).message);
      send(res, err.httpStatus, err.toJSON());
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new PcxError('PCX_PAYLOAD_TOO_LARGE', `query body over ${MAX_BODY} bytes`));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}
