/** Topic names and their shapes, as in ARCHITECTURE.md. */
export const Topics = {
  events: 'portcullis.events',
  alerts: 'portcullis.alerts',
  decisions: 'portcullis.decisions',
  approvals: 'portcullis.approvals',
  changes: 'portcullis.changes',
  dlq: 'portcullis.dlq',
} as const;

export type TopicName = (typeof Topics)[keyof typeof Topics];

export const DAY_MS = 86_400_000;

export interface TopicSpec {
  name: string;
  partitions: number;
  cleanupPolicy: 'delete' | 'compact';
  /** For delete topics; ignored for compacted ones. */
  retentionMs?: number;
}

/** The topic layout every component agrees on; partition counts come from config. */
export function topicSpecs(partitions: { events: number; alerts: number; decisions: number; approvals: number; changes: number; dlq: number }): TopicSpec[] {
  return [
    { name: Topics.events, partitions: partitions.events, cleanupPolicy: 'delete', retentionMs: 7 * DAY_MS },
    { name: Topics.alerts, partitions: partitions.alerts, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
    { name: Topics.decisions, partitions: partitions.decisions, cleanupPolicy: 'compact' },
    { name: Topics.approvals, partitions: partitions.approvals, cleanupPolicy: 'compact' },
    { name: Topics.changes, partitions: partitions.changes, cleanupPolicy: 'compact' },
    { name: Topics.dlq, partitions: partitions.dlq, cleanupPolicy: 'delete', retentionMs: 30 * DAY_MS },
  ];
}

/**
 * A detector's state changelog topic (compacted), per consumer group as Kafka Streams
 * names changelogs per application id: the changelog records the input offsets it has
 * applied, so a second group sharing it would restore another group's baselines and
 * skip events it never scored. The group id is validated as topic-safe at config load.
 */
export function stateTopic(groupId: string, detector: string): string {
  return `portcullis.state.${groupId}.${detector}`;
}
