import type { PortcullisConfig } from '@portcullis/common';
import type { DetectorStats } from '@portcullis/detectors';

/** What the main thread hands each detector thread. */
export interface ThreadData {
  config: PortcullisConfig;
  thread: number;
  reportIntervalMs: number;
}

/** Main → thread. */
export type ThreadMessage = { type: 'close' };

/** Thread → main. */
export type ThreadReply = { type: 'ready' } | { type: 'failed'; code: string; message: string } | { type: 'stats'; stats: DetectorStats; metrics: string } | { type: 'closed' };
