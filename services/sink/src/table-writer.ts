import { PcxError } from '@portcullis/common';
import { backoffMs } from './backoff.js';

export interface TableWriterOptions {
  table: string;
  /** A buffer this full is flushed at once. */
  batchRows: number;
  /** A buffer is flushed at most this long after its first row arrived. */
  flushMs: number;
  retry: { initialMs: number; maxMs: number };
  /** Writes one batch; resolves once every row is stored, rejects on any failure. */
  insert: (rows: object[]) => Promise<void>;
  /** Called for each failed attempt that will be retried. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Called when an insert succeeds after failures. */
  onRecover?: (attempts: number) => void;
  onFlushed?: (rows: number, seconds: number) => void;
}

interface Chunk {
  rows: object[];
  done: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
}

function newChunk(): Chunk {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Waiters may have given up (hold timeout); a rejection nobody awaits must not crash the process.
  done.catch(() => {});
  return { rows: [], done, resolve, reject };
}

/**
 * Accumulates rows for one table and writes them in batches, one insert at a time.
 * `add` hands back the promise of the batch the rows joined: it resolves only after that
 * insert succeeded, which is what lets a consumer commit offsets after the write. A
 * failed insert is retried with exponential back-off for as long as the writer is open,
 * holding its batch (nothing is dropped); rows added meanwhile wait in the next batch.
 * The buffer is bounded by the callers: each consumer batch adds once and then waits.
 */
export class TableWriter {
  private current: Chunk = newChunk();
  private inflight: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private wake: (() => void) | undefined;
  private failing = false;

  constructor(private readonly opts: TableWriterOptions) {}

  /** Rows waiting for or in an insert. */
  get buffered(): number {
    return this.current.rows.length + this.inflightRows;
  }
  private inflightRows = 0;

  /** True while inserts are failing and being retried. */
  get inOutage(): boolean {
    return this.failing;
  }

  add(rows: readonly object[]): Promise<void> {
    if (this.closing) return Promise.reject(new PcxError('PCX_STORE_UNAVAILABLE', `sink writer for ${this.opts.table} is closed`, { table: this.opts.table }));
    const chunk = this.current;
    for (const r of rows) chunk.rows.push(r);
    if (chunk.rows.length >= this.opts.batchRows) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
    return chunk.done;
  }

  /** Starts writing the current buffer now (or right after the insert in flight). */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.inflight || this.current.rows.length === 0) return;
    const chunk = this.current;
    this.current = newChunk();
    this.inflightRows = chunk.rows.length;
    this.inflight = this.write(chunk.rows).then(chunk.resolve, chunk.reject);
    void this.inflight.finally(() => {
      this.inflight = undefined;
      this.inflightRows = 0;
      if (this.current.rows.length === 0) return;
      if (this.closing || this.current.rows.length >= this.opts.batchRows) this.flush();
      else this.timer ??= setTimeout(() => this.flush(), this.opts.flushMs);
    });
  }

  /**
   * Writes what is buffered with one last attempt each, then refuses new rows. Batches
   * that cannot be written are rejected (their offsets stay uncommitted, so they are
   * delivered again to whoever consumes next).
   */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    this.flush();
    while (this.inflight) {
      await this.inflight;
      this.flush();
    }
  }

  private async write(rows: object[]): Promise<void> {
    const started = performance.now();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.opts.insert(rows);
        if (attempt > 1) {
          this.failing = false;
          this.opts.onRecover?.(attempt);
        }
        this.opts.onFlushed?.(rows.length, (performance.now() - started) / 1000);
        return;
      } catch (e) {
        if (this.closing) throw new PcxError('PCX_STORE_UNAVAILABLE', `insert into ${this.opts.table} failed while closing`, { table: this.opts.table }, { cause: e });
        this.failing = true;
        const delay = backoffMs(attempt, this.opts.retry);
        this.opts.onRetry?.(e, attempt, delay);
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }
}
