import type { Injection } from './injections.js';
import type { SeenAlert, SeenDecision } from './outcomes.js';
import type { RunOutput } from './run.js';
import type { Scenario } from './scenario.js';
import { HOUR, WEEK } from './time.js';

/**
 * Scores a run against the scenario's ground truth. An alert is credited to an injection
 * when it names the same agent and its evidence falls between the injection's first event
 * and `matchWindowMs` after its last. Alerts of the expected detector are true
 * positives; alerts of other detectors inside an injection's window are corroborating
 * (the injected traffic is malicious, so they are neither right nor wrong for this
 * table); every other alert is a false positive on benign traffic.
 */
export interface EvaluateOptions {
  /** Alerts below this OCSF severity_id are counted apart and not scored (3 = Medium). */
  minSeverityId?: number;
  matchWindowMs?: number;
}

export interface DetectorScore {
  detector: string;
  injections: number;
  truePositives: number;
  falseNegatives: number;
  /** Alerts credited to an injection of this detector. */
  matchedAlerts: number;
  falsePositives: number;
  precision: number | null;
  recall: number | null;
  medianTimeToDetectMs: number | null;
  maxTimeToDetectMs: number | null;
  /** False positives per agent-week of benign traffic. */
  falsePositivesPerAgentWeek: number;
  blocksExpected: number;
  blocksIssued: number;
}

export interface InjectionOutcome {
  id: string;
  kind: string;
  variant: string;
  detector: string;
  subject: string;
  start: number;
  detected: boolean;
  timeToDetectMs: number | null;
  alertIds: string[];
  severity: string | null;
  expectBlock: string | null;
  blocked: boolean;
  /** Other detectors that also fired on the injected traffic. */
  corroborating: string[];
}

export interface EvaluationReport {
  seed: number;
  agents: number;
  weeks: number;
  events: number;
  minSeverityId: number;
  agentWeeks: number;
  detectors: DetectorScore[];
  injections: InjectionOutcome[];
  falsePositives: Array<{ id: string; detector: string; subject: string; time: number; severity: string; title: string }>;
  /** Alerts under minSeverityId, per detector (not scored). */
  belowSeverity: Record<string, number>;
  /** Findings that asked for a block with no decision on the decisions topic. */
  missingDecisions: string[];
  notCovered: Array<{ kind: string; reason: string }>;
}

export function evaluate(scenario: Scenario, run: RunOutput, o: EvaluateOptions = {}): EvaluationReport {
  const minSeverityId = o.minSeverityId ?? 3;
  const matchWindowMs = o.matchWindowMs ?? HOUR;
  const scored = run.alerts.filter((a) => a.severityId >= minSeverityId);
  const belowSeverity: Record<string, number> = {};
  for (const a of run.alerts) if (a.severityId < minSeverityId) belowSeverity[a.detector] = (belowSeverity[a.detector] ?? 0) + 1;

  const within = (a: SeenAlert, inj: Injection) => a.actor === inj.subject && a.time >= inj.start && a.time <= inj.end + matchWindowMs;
  const credited = new Set<string>();
  const outcomes: InjectionOutcome[] = scenario.injections.map((inj) => {
    const hits = scored.filter((a) => within(a, inj));
    const own = hits.filter((a) => a.detector === inj.detector);
    for (const a of hits) credited.add(a.id);
    const first = own.reduce<SeenAlert | undefined>((best, a) => (!best || a.time < best.time ? a : best), undefined);
    const blocked = inj.expectBlock ? run.decisions.some((d) => d.subject === inj.expectBlock && d.createdAt >= inj.start && d.createdAt <= inj.end + matchWindowMs) : false;
    return {
      id: inj.id,
      kind: inj.kind,
      variant: inj.variant,
      detector: inj.detector,
      subject: inj.subject,
      start: inj.start,
      detected: own.length > 0,
      timeToDetectMs: first ? first.time - inj.evidenceAt : null,
      alertIds: own.map((a) => a.id),
      severity: first ? first.severity : null,
      expectBlock: inj.expectBlock ?? null,
      blocked,
      corroborating: [...new Set(hits.filter((a) => a.detector !== inj.detector).map((a) => a.detector))].sort(),
    };
  });

  const falsePositives = scored.filter((a) => !credited.has(a.id));
  const agentWeeks = (scenario.agents.length * (scenario.to - scenario.from)) / WEEK;
  const names = new Set<string>([...scenario.injections.map((i) => i.detector), ...run.alerts.map((a) => a.detector)]);
  const detectors: DetectorScore[] = [...names].sort().map((detector) => {
    const mine = outcomes.filter((x) => x.detector === detector);
    const tp = mine.filter((x) => x.detected).length;
    const matchedAlerts = mine.reduce((n, x) => n + x.alertIds.length, 0);
    const fp = falsePositives.filter((a) => a.detector === detector).length;
    const ttd = mine
      .map((x) => x.timeToDetectMs)
      .filter((x): x is number => x !== null)
      .sort((a, b) => a - b);
    return {
      detector,
      injections: mine.length,
      truePositives: tp,
      falseNegatives: mine.length - tp,
      matchedAlerts,
      falsePositives: fp,
      precision: matchedAlerts + fp === 0 ? null : matchedAlerts / (matchedAlerts + fp),
      recall: mine.length === 0 ? null : tp / mine.length,
      medianTimeToDetectMs: ttd.length === 0 ? null : (ttd[Math.floor((ttd.length - 1) / 2)] as number),
      maxTimeToDetectMs: ttd.length === 0 ? null : (ttd[ttd.length - 1] as number),
      falsePositivesPerAgentWeek: fp / agentWeeks,
      blocksExpected: mine.filter((x) => x.expectBlock).length,
      blocksIssued: mine.filter((x) => x.expectBlock && x.blocked).length,
    };
  });

  return {
    seed: scenario.options.seed,
    agents: scenario.agents.length,
    weeks: scenario.options.weeks,
    events: run.events,
    minSeverityId,
    agentWeeks,
    detectors,
    injections: outcomes,
    falsePositives: falsePositives.map((a) => ({ id: a.id, detector: a.detector, subject: a.actor, time: a.time, severity: a.severity, title: a.title })),
    belowSeverity,
    missingDecisions: missingDecisions(run.alerts, run.decisions),
    notCovered: [...scenario.notCovered],
  };
}

/**
 * Alert ids whose finding asked for a block that no decision covers: one with the alert's
 * own id, or (the runtime publishes one decision per subject while a block is in force)
 * one on the same subject in force at the alert's event time.
 */
export function missingDecisions(alerts: readonly SeenAlert[], decisions: readonly SeenDecision[]): string[] {
  const own = new Set(decisions.map((d) => `${d.alertId}|${d.subject}`));
  const inForce = (a: SeenAlert) => decisions.some((d) => d.subject === a.blockSubject && d.createdAt <= a.time && (d.expiresAt === 0 || a.time < d.expiresAt));
  return alerts.filter((a) => a.blockSubject && !own.has(`${a.id}|${a.blockSubject}`) && !inForce(a)).map((a) => a.id);
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(0)}%`;
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** A fixed-width table of the report, one row per detector, then the injections and what is not covered. */
export function formatReport(r: EvaluationReport): string {
  const head = ['detector', 'inj', 'TP', 'FN', 'FP', 'precision', 'recall', 'TTD median', 'TTD max', 'FP/agent-wk', 'blocks'];
  const rows = r.detectors.map((d) => [
    d.detector,
    String(d.injections),
    String(d.truePositives),
    String(d.falseNegatives),
    String(d.falsePositives),
    pct(d.precision),
    pct(d.recall),
    formatDuration(d.medianTimeToDetectMs),
    formatDuration(d.maxTimeToDetectMs),
    d.falsePositivesPerAgentWeek.toFixed(3),
    d.blocksExpected === 0 ? '—' : `${d.blocksIssued}/${d.blocksExpected}`,
  ]);
  const lines = [
    `seed ${r.seed}: ${r.agents} agents × ${r.weeks} weeks (${r.agentWeeks.toFixed(0)} agent-weeks), ${r.events} events; alerts at severity_id ≥ ${r.minSeverityId}`,
    'TTD: event time from the first injected event carrying the evidence (a bulk read or leak: its RESPONSE) to the alert',
    table(head, rows),
    '',
    table(
      ['injection', 'variant', 'subject', 'detected', 'TTD', 'severity', 'block', 'also'],
      r.injections.map((i) => [i.id, i.variant, i.subject, i.detected ? 'yes' : 'NO', formatDuration(i.timeToDetectMs), i.severity ?? '—', i.expectBlock ? `${i.blocked ? 'yes' : 'NO'} ${i.expectBlock}` : '—', i.corroborating.join(',')]),
    ),
  ];
  const low = Object.entries(r.belowSeverity);
  if (low.length > 0) lines.push('', `below severity (not scored): ${low.map(([d, n]) => `${d} ${n}`).join(', ')}`);
  if (r.missingDecisions.length > 0) lines.push(`findings that asked for a block without a decision: ${r.missingDecisions.length}`);
  for (const n of r.notCovered) lines.push(`not covered: ${n.kind} — ${n.reason}`);
  return lines.join('\n');
}

export function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
