import type { DetectorsConfig } from '@portcullis/common';
import type { IAccessEvent } from '@portcullis/proto';
import type { ChangeTopicRecord } from './manifests.js';
import { runThroughCore } from './run.js';
import type { SeenAlert, SeenDecision } from './outcomes.js';
import { formatDuration, table } from './evaluate.js';

/** What the detectors would have raised over a stretch of stored history. */
export interface BacktestReport {
  from: number;
  to: number;
  events: number;
  deadLetters: number;
  /** Records of portcullis.changes folded into config drift's view (tombstones included). */
  changeRecords: number;
  /** Alerts per detector and subject, with the highest severity seen. */
  byDetector: Array<{ detector: string; subject: string; alerts: number; maxSeverity: string; first: number; last: number }>;
  alerts: SeenAlert[];
  decisions: SeenDecision[];
}

/**
 * Replays events (in time order) through a fresh DetectorCore with the config's detectors;
 * publishes nothing. `changes` are the records of portcullis.changes config drift reads,
 * in topic order, tombstones included (readStoredChanges gives them as of the window's
 * end); they are folded into the view before the first event, as the live runtime
 * catches the topic up before scoring.
 */
export function backtestEvents(events: Iterable<IAccessEvent>, config: DetectorsConfig, window: { from: number; to: number }, changes?: readonly ChangeTopicRecord[]): BacktestReport {
  const run = runThroughCore(events, config, changes ? { changes } : {});
  const groups = new Map<string, BacktestReport['byDetector'][number] & { maxSeverityId: number }>();
  for (const a of run.alerts) {
    const key = `${a.detector}\u0000${a.actor}`;
    const g = groups.get(key) ?? { detector: a.detector, subject: a.actor, alerts: 0, maxSeverity: a.severity, maxSeverityId: a.severityId, first: a.time, last: a.time };
    g.alerts += 1;
    if (a.severityId > g.maxSeverityId) {
      g.maxSeverityId = a.severityId;
      g.maxSeverity = a.severity;
    }
    g.first = Math.min(g.first, a.time);
    g.last = Math.max(g.last, a.time);
    groups.set(key, g);
  }
  const byDetector = [...groups.values()].sort((a, b) => a.detector.localeCompare(b.detector) || b.alerts - a.alerts || a.subject.localeCompare(b.subject)).map(({ maxSeverityId: _, ...g }) => g);
  return { from: window.from, to: window.to, events: run.events, deadLetters: run.deadLetters, changeRecords: changes?.length ?? 0, byDetector, alerts: run.alerts, decisions: run.decisions };
}

export function formatBacktest(r: BacktestReport): string {
  const iso = (t: number) => new Date(t).toISOString();
  const lines = [
    `backtest ${iso(r.from)} → ${iso(r.to)}: ${r.events} events${r.deadLetters ? `, ${r.deadLetters} undecodable` : ''}, ${r.changeRecords} change records; ${r.alerts.length} alerts, ${r.decisions.length} block decisions would have been issued`,
    table(
      ['detector', 'subject', 'alerts', 'max severity', 'first', 'last'],
      r.byDetector.map((g) => [g.detector, g.subject, String(g.alerts), g.maxSeverity, iso(g.first), iso(g.last)]),
    ),
  ];
  if (r.decisions.length > 0) {
    lines.push('', table(['decision subject', 'by', 'at', 'for'], r.decisions.map((d) => [d.subject, d.source, iso(d.createdAt), d.expiresAt ? formatDuration(d.expiresAt - d.createdAt) : 'until lifted'])));
  }
  return lines.join('\n');
}
