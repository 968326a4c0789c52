import type { MetricsRegistry } from '@portcullis/common';

/** The runtime's Prometheus series, registered once per registry. */
export function detectorMetrics(registry: MetricsRegistry) {
  return {
    events: registry.counter('portcullis_detector_events_total', 'Events scored by the detector runtime.'),
    alerts: registry.counter('portcullis_detector_alerts_total', 'Alerts published, per detector.'),
    suppressed: registry.counter('portcullis_detector_alerts_suppressed_total', 'Alerts not re-published because their id was emitted recently, per detector.'),
    decisions: registry.counter('portcullis_detector_decisions_total', 'Block decisions published, per detector.'),
    deadLetters: registry.counter('portcullis_detector_dlq_total', 'Records sent to the dead-letter topic.'),
    duplicates: registry.counter('portcullis_detector_duplicates_total', 'Events not scored again: already applied before a restart (offset) or a duplicate event id.'),
    publishFailures: registry.counter('portcullis_detector_publish_failures_total', 'Batches whose outputs could not be published (re-delivered).'),
    flushes: registry.counter('portcullis_detector_flushes_total', 'State flushes: changelog written, then offsets committed (one per partition per commit interval).'),
    flushFailures: registry.counter('portcullis_detector_flush_failures_total', 'State flushes that failed (the partition replays from its last commit).'),
    stateEntries: registry.gauge('portcullis_detector_state_entries', 'Entities held in detector state, per detector.'),
    stateBytes: registry.gauge('portcullis_detector_state_bytes', 'Approximate bytes of detector state, per detector.'),
    lag: registry.gauge('portcullis_detector_lag', 'Committed-offset lag on the events topic, per partition (includes what is scored but not yet flushed: up to one commit interval).'),
    paused: registry.gauge('portcullis_detector_paused', '1 while consumption is paused by back-pressure.'),
    restored: registry.counter('portcullis_detector_state_restored_total', 'Changelog records replayed on partition assignment, per detector.'),
  };
}

export type DetectorMetrics = ReturnType<typeof detectorMetrics>;
