import { Topics } from '@portcullis/common';
import type { SinkTable } from '@portcullis/store';

/** The topics the sink reads and the one it dead-letters to; injectable so tests use unique names. */
export interface SinkTopics {
  events: string;
  alerts: string;
  decisions: string;
  approvals: string;
  /** Approved change requests (compacted): kept in full for config-drift backtests. */
  changes: string;
  dlq: string;
}

export const defaultSinkTopics: SinkTopics = {
  events: Topics.events,
  alerts: Topics.alerts,
  decisions: Topics.decisions,
  approvals: Topics.approvals,
  changes: Topics.changes,
  dlq: Topics.dlq,
};

/** Which table a source topic feeds; undefined for a topic the sink does not read. */
export function tableForTopic(topics: SinkTopics, topic: string): SinkTable | undefined {
  if (topic === topics.events) return 'events';
  if (topic === topics.alerts) return 'alerts';
  if (topic === topics.decisions) return 'decisions';
  if (topic === topics.approvals) return 'approvals';
  if (topic === topics.changes) return 'changes';
  return undefined;
}
