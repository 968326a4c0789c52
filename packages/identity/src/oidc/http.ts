import { isSecureUrl } from '../secure-url.js';

/**
 * GET a small JSON document with a hard bound on time and size. The bound covers the
 * whole exchange, body included, so an endpoint that sends headers and then stalls
 * cannot hold a request past the timeout; the size cap keeps a hostile or broken
 * endpoint from filling memory.
 */
export interface FetchJsonOptions {
  readonly timeoutMs: number;
  readonly maxBytes?: number;
}

const DEFAULT_MAX_BYTES = 512 * 1024;

export async function fetchJson(url: string, opts: FetchJsonOptions): Promise<unknown> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
  try {
    // Redirects are refused: a key set should come from the URL the issuer names, not wherever it points.
    const res = await fetch(url, { signal: ac.signal, redirect: 'error', headers: { accept: 'application/json' } });
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const reader = res.body?.getReader();
    if (!reader) throw new Error('empty response');
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        await reader.cancel();
        throw new Error(`response larger than ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch (e) {
    if (ac.signal.aborted) throw new Error(`timed out after ${opts.timeoutMs} ms`, { cause: e });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Key material over plain HTTP is only acceptable on the loopback interface (tests, sidecars). */
export function assertSecureUrl(raw: string, what: string): void {
  if (!isSecureUrl(raw)) throw new Error(`${what} must be https (plain http only on loopback)`);
}
