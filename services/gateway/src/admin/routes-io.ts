import type { IncomingMessage, ServerResponse } from 'node:http';
import { PcxError } from '@portcullis/common';
import type { CallHeaders } from '../identity/authenticator.js';

/**
 * The admin HTTP API's request and answer plumbing, shared by its routes (approvals, decisions, changes):
 * headers for the authenticator, JSON answers, RFC 9457 problem answers carrying the
 * stable code, and bounded JSON bodies.
 */
export function headersOf(req: IncomingMessage): CallHeaders {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') out[k] = v;
  return out;
}

export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** RFC 9457 problem details, plus the stable code, the retriable flag and the field at fault when the error names one. */
export function problem(res: ServerResponse, err: PcxError): void {
  if (res.headersSent) return void res.end();
  const field = err.context['field'];
  const body = { type: 'about:blank', title: err.code, status: err.httpStatus, detail: err.message, ...err.toJSON(), ...(typeof field === 'string' ? { field } : {}) };
  res.writeHead(err.httpStatus, { 'content-type': 'application/problem+json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

/** The body as a JSON object (an empty body is `{}`), refused past `maxBytes` before it is buffered whole. */
export async function readJson(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new PcxError('PCX_PAYLOAD_TOO_LARGE', `request body over ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new PcxError('PCX_BAD_REQUEST', 'body: is not JSON', { field: 'body' });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new PcxError('PCX_BAD_REQUEST', 'body: must be a JSON object', { field: 'body' });
  return parsed as Record<string, unknown>;
}
