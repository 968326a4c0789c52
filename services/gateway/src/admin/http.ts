import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsRegistry } from '@portcullis/common';

export interface AdminSources {
  readonly metrics: MetricsRegistry;
  /** The body of GET /healthz. */
  health(): object;
  /** The approvals API under /approvals (src/approvals/admin-routes.ts); absent = 404. */
  readonly approvals?: (req: IncomingMessage, res: ServerResponse) => void;
  /** The change requests API under /changes (src/config-changes/admin-routes.ts); absent = 404. */
  readonly changes?: (req: IncomingMessage, res: ServerResponse) => void;
  /** The decisions API under /decisions (src/decisions/admin-routes.ts); absent = 404. */
  readonly decisions?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** GET /healthz, GET /metrics and the approvals API. Binds loopback unless the config says otherwise. */
export async function startAdminServer(sources: AdminSources, host: string, port: number): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (sources.approvals && (path === '/approvals' || path.startsWith('/approvals/'))) {
      sources.approvals(req, res);
      return;
    }
    if (sources.changes && (path === '/changes' || path.startsWith('/changes/'))) {
      sources.changes(req, res);
      return;
    }
    if (sources.decisions && (path === '/decisions' || path.startsWith('/decisions/'))) {
      sources.decisions(req, res);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', ...sources.health() }));
      return;
    }
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(sources.metrics.render());
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'PCX_NOT_FOUND', message: `no route ${path}` }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

export function stopAdminServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
