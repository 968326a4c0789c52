import type { IAccessEvent } from '@portcullis/proto';

/**
 * The contract every detector signal implements. A scorer is pure in the sense that
 * matters for replay: its result is a function of the entity's state and the event. It
 * never reads a clock (event time only) and never does I/O.
 *
 * Two ways to apply an event, one set of maths:
 *  - `update(state, e)` (the runtime's path) applies the event to `state` IN PLACE and
 *    says whether anything changed. The runtime owns every state it holds: it takes one
 *    `clone` of an entity before the entity's first update in a batch (the batch's
 *    rollback copy, dropped again when that update changed nothing), writes each changed
 *    entity to the changelog once at the end of the batch with its final state, and puts
 *    the copies back if the batch fails (see runtime/core.ts).
 *  - `score(state, e)` is the same step as a pure function: it never modifies `state` and
 *    returns the SAME object when nothing changed (tests and tools; built-in scorers derive
 *    it from `clone` + `update` with `pureScore`).
 * A scorer without `update` is driven through `score`, its states treated as immutable
 * values (identity tells the runtime what changed, and no copy is taken).
 *
 * Config is bound when the scorer is built (`createCredentialOriginScorer(config)`), so
 * the runtime stays generic and never needs to know one detector's settings.
 */
export interface Scorer<S> {
  /** Stable name: the changelog topic (`portcullis.state.<group>.<name>`) and the alert analytic. */
  readonly name: string;
  /** The entity this event belongs to (credential, agent …), or undefined to ignore it. */
  keyOf(e: IAccessEvent): string | undefined;
  /** The state of an entity never seen before: a fresh object the caller may modify (never a shared one when `update` exists). */
  init(): S;
  /** Pure: the next state (a new object, `state` untouched) or `state` itself when nothing changed. */
  score(state: S, e: IAccessEvent): ScoreResult<S>;
  /**
   * Applies the event to `state` in place. `changed` is false only when `state` is exactly
   * as it was (then nothing needs writing); `state` in the result is the object to keep —
   * normally the one passed in, or a replacement (a scorer may build a new state instead
   * of editing, e.g. on a change of shape). If it throws, `state` may be half-updated:
   * the runtime discards it (see core.ts). Requires `clone`.
   */
  update?(state: S, e: IAccessEvent): StateUpdate<S>;
  /** A deep copy: nothing `update` may modify is shared with `state`. */
  clone?(state: S): S;
  /**
   * Decay driven by event time (`now` = the partition's event-time watermark). Pure, and
   * off the hot path (the runtime's sweep): never modifies `state`; returns the decayed
   * state as a new object (the same object when nothing changed) or undefined when
   * nothing is left worth remembering, so the runtime drops the entity. The new object
   * may share parts with `state`: the runtime no longer modifies the one it replaced.
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

/** What `update` did: the state to keep, whether it differs from before, and the findings. */
export interface StateUpdate<S> {
  state: S;
  changed: boolean;
  /** May be NO_FINDINGS (shared and frozen): read it, never mutate it. */
  findings: Finding[];
}

/** `score` from `clone` + `update`: the pure form of an in-place scorer, with one maths. */
export function pureScore<S>(clone: (s: S) => S, update: (s: S, e: IAccessEvent) => StateUpdate<S>): (state: S, e: IAccessEvent) => ScoreResult<S> {
  return (state, e) => {
    const u = update(clone(state), e);
    return { state: u.changed ? u.state : state, findings: u.findings };
  };
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
