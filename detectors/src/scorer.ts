import type { IAccessEvent } from '@portcullis/proto';

/**
 * The contract every detector signal implements. A scorer is pure: the runtime hands it
 * one entity's state and one event and gets back the entity's next state and any
 * findings. It never reads a clock (event time only), never does I/O, and returns the
 * SAME state object when the event changed nothing, so the runtime can tell by identity
 * which entries to write to the changelog. States are treated as immutable values: a
 * scorer builds a new one rather than editing the one it was given.
 *
 * Config is bound when the scorer is built (`createCredentialOriginScorer(config)`), so
 * the runtime stays generic and never needs to know one detector's settings.
 */
export interface Scorer<S> {
  /** Stable name: the changelog topic (`portcullis.state.<name>`) and the alert analytic. */
  readonly name: string;
  /** The entity this event belongs to (credential, agent …), or undefined to ignore it. */
  keyOf(e: IAccessEvent): string | undefined;
  /** The state of an entity never seen before. */
  init(): S;
  score(state: S, e: IAccessEvent): ScoreResult<S>;
  /**
   * Decay driven by event time (`now` = the partition's event-time watermark). Returns
   * the decayed state (the same object when nothing changed) or undefined when nothing
   * is left worth remembering, so the runtime drops the entity.
   */
  evict?(state: S, now: number): S | undefined;
  /** Approximate bytes this state holds in memory, for the per-entity budget. */
  sizeOf?(state: S): number;
  serialize(state: S): Buffer;
  deserialize(b: Buffer): S;
  /**
   * Compacted topics this scorer reads as views (config drift: portcullis.changes). The
   * runtime feeds every record of each to `apply` in topic order, and before scoring a
   * batch holding an event of the input's `phases`, waits until the view has caught up with
   * the topic's end, so a record published before the event is in the view when it is scored.
   */
  readonly sideInputs?: readonly SideInput[];
}

/** A compacted topic folded into a read-only view that a scorer reads while scoring. */
export interface SideInput {
  readonly topic: string;
  /** One record (null value = tombstone). Returns why the record was ignored, if it was. */
  apply(key: string, value: Buffer | null): string | undefined;
  /**
   * The event phases scored against this view (AccessEvent.phase numbers). The runtime
   * waits for the view to catch up only before batches holding one; absent = every batch.
   */
  readonly phases?: readonly number[];
}

export interface ScoreResult<S> {
  state: S;
  /** May be NO_FINDINGS (shared and frozen): read it, never mutate it. */
  findings: Finding[];
}

export type SubjectKindName = 'credential' | 'identity' | 'origin' | 'session';

/** What a decision or an alert is about: `credential:<id>` and friends. */
export interface SubjectRef {
  kind: SubjectKindName;
  value: string;
}

export type SeverityName = 'info' | 'low' | 'medium' | 'high' | 'critical' | 'fatal';

/** OCSF analytic types a scorer can claim. */
export type AnalyticKind = 'rule' | 'behavioral' | 'statistical' | 'learning';

export interface Finding {
  detector: string;
  /** The scorer's state key (the entity), part of the deterministic alert id. */
  key: string;
  title: string;
  description: string;
  severity: SeverityName;
  /** 0..1. */
  score: number;
  /** 0..1: how much evidence stands behind the score. */
  confidence: number;
  analytic: AnalyticKind;
  subject: SubjectRef;
  /** Event ids that support the finding; the first one names the alert. */
  eventIds: string[];
  /** Event time of the earliest and latest evidence (ms). */
  firstSeen: number;
  lastSeen: number;
  /** Detector-specific evidence (OCSF `unmapped`); never secrets or command payloads. */
  details: Record<string, unknown>;
  /** Ask the gateways to block this subject for ttlMs of event time. */
  block?: { subject: SubjectRef; ttlMs: number; reason: string };
}

/** The canonical `kind:value` subject string used as the decisions topic key. */
export function subjectString(s: SubjectRef): string {
  return `${s.kind}:${s.value}`;
}

/** The shared empty findings list scorers return on the hot path (frozen: one allocation less per event). */
export const NO_FINDINGS: Finding[] = Object.freeze([]) as unknown as Finding[];
