import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '@portcullis/common';
import { decodeDecision, encodeDecision, type Decision } from '@portcullis/proto';

/**
 * The decision view as last known, on local disk, so a gateway that starts while
 * portcullis.decisions cannot be read still enforces the blocks it knew. Decisions are
 * kept as their protobuf bytes (base64), so nothing is lost in a JSON rendering.
 */
interface SnapshotFile {
  readonly version: 1;
  readonly environment: string;
  readonly gatewayId: string;
  /** When the view was written (ms). */
  readonly writtenAt: number;
  readonly decisions: ReadonlyArray<{ readonly key: string; readonly decision: string }>;
}

export interface LoadedSnapshot {
  readonly writtenAt: number;
  readonly entries: Array<[string, Decision]>;
}

/**
 * Reads the snapshot at `path`. Missing → undefined. Unreadable, of another environment
 * or corrupt → undefined and a warning: the gateway then starts with an empty view,
 * which /healthz reports as `source: 'empty'`.
 */
export function readDecisionSnapshot(path: string, environment: string, logger: Logger): LoadedSnapshot | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') logger.warn({ err: e, path }, 'decision snapshot unreadable; starting with an empty view');
    return undefined;
  }
  try {
    const file = JSON.parse(text) as Partial<SnapshotFile>;
    if (file.version !== 1 || !Array.isArray(file.decisions) || typeof file.writtenAt !== 'number') throw new Error('not a version 1 decision snapshot');
    if (file.environment !== environment) {
      logger.warn({ path, snapshot: file.environment, environment }, 'decision snapshot is of another environment; ignored');
      return undefined;
    }
    const entries: Array<[string, Decision]> = file.decisions.map((d) => [String(d.key), decodeDecision(Buffer.from(String(d.decision), 'base64'))]);
    return { writtenAt: file.writtenAt, entries };
  } catch (e) {
    logger.warn({ err: e, path }, 'decision snapshot corrupt; starting with an empty view');
    return undefined;
  }
}

/**
 * Rewrites the snapshot after every change to the view, atomically (a temporary file in
 * the same directory, fdatasync'ed, then renamed over the old one), so a crash leaves the
 * old or the new view, never a torn one. Changes that arrive while a write is under way
 * are coalesced into one more write with the view as it is then.
 */
export class DecisionSnapshotWriter {
  private writing: Promise<void> | undefined;
  private dirty = false;
  private truncatedLogged = false;
  private failing = false;

  constructor(
    private readonly opts: {
      path: string;
      environment: string;
      gatewayId: string;
      maxEntries: number;
      /** The view's unexpired decisions, read when a write starts. */
      entries: (max: number) => Array<[string, Decision]>;
      logger: Logger;
      onWrite?: (outcome: 'ok' | 'failed' | 'truncated') => void;
      now?: () => number;
    },
  ) {
    mkdirSync(dirname(opts.path), { recursive: true });
  }

  /** Marks the view changed; a write follows (at once, or after the one under way). */
  changed(): void {
    this.dirty = true;
    this.writing ??= this.drain();
  }

  /** Resolves when no write is pending. */
  async idle(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dirty) {
        this.dirty = false;
        await this.writeOnce();
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeOnce(): Promise<void> {
    const { path, maxEntries, logger } = this.opts;
    const now = (this.opts.now ?? Date.now)();
    const entries = this.opts.entries(maxEntries + 1);
    const truncated = entries.length > maxEntries;
    if (truncated) {
      entries.length = maxEntries;
      if (!this.truncatedLogged) {
        this.truncatedLogged = true; // once; the counter has the rest
        logger.warn({ path, maxEntries }, 'decision snapshot truncated at gateway.decisions.snapshotMaxEntries');
      }
    }
    const file: SnapshotFile = {
      version: 1,
      environment: this.opts.environment,
      gatewayId: this.opts.gatewayId,
      writtenAt: now,
      decisions: entries.map(([key, d]) => ({ key, decision: encodeDecision(d).toString('base64') })),
    };
    const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(file));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
      this.failing = false;
      this.opts.onWrite?.(truncated ? 'truncated' : 'ok');
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      this.opts.onWrite?.('failed');
      if (!this.failing) logger.warn({ err: e, path }, 'decision snapshot write failed; the previous one stays'); // once until a write succeeds
      this.failing = true;
    }
  }
}
