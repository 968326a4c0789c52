import { DeadLetter, decodeEvent, encodeDecision, type AccessEvent } from '@portcullis/proto';
import { alertIdOf } from '../alerts/ids.js';
import { decisionOf } from '../alerts/decision.js';
import { toDetectionFinding } from '../alerts/ocsf.js';
import type { Scorer } from '../scorer.js';
import { parseChangelogKey, recentAlertsKey, stateKey } from './changelog-keys.js';
import { RecentIds } from './recent-ids.js';

/**
 * The detector runtime without I/O: per-partition state stores for every scorer, one
 * batch in → the records to publish out (alerts, decisions, dead letters, changelog).
 * The bus wiring (run-detectors.ts) sends them and commits; this file never touches a
 * broker or a clock, so it is what the throughput bench measures and what a backtest
 * can drive directly.
 */
export interface CoreOptions {
  /** Consumer group, named in dead letters. */
  consumer: string;
  /** Product version stamped into OCSF metadata. */
  productVersion: string;
  /** Bound on entities per scorer per partition; the least recently updated go first. */
  maxKeysPerPartition: number;
  /** Event time between decay sweeps over dormant entities. */
  evictIntervalMs: number;
  /** Bound on the alert ids remembered per scorer per partition for dedupe. */
  recentAlertIds: number;
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  consumer: 'portcullis-detectors',
  productVersion: '0.1.0',
  maxKeysPerPartition: 1_000_000,
  evictIntervalMs: 60_000,
  recentAlertIds: 1024,
};

/** The subset of a bus record the core reads. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
}

/**
 * Structurally a bus OutgoingRecord. No timestamp on purpose: the bus stamps publish
 * time, which topic retention runs on; event time travels inside every value (OCSF
 * `time`, Decision `created_at`), and stamping it on the record would let retention
 * delete the alerts of a backtest over last month's events as soon as they are written.
 */
export interface OutRecord {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  timestamp?: number;
}

export interface BatchResult {
  /** Events decoded and scored. */
  events: number;
  alerts: OutRecord[];
  decisions: OutRecord[];
  deadLetters: OutRecord[];
  /** Changelog records per detector name. */
  changelog: Map<string, OutRecord[]>;
  /** Per detector: alerts and decisions emitted, alerts suppressed as repeats. */
  perDetector: Map<string, { alerts: number; decisions: number; suppressed: number }>;
  /**
   * Puts the partition's state back as it was before this batch. The runtime calls it
   * when publishing fails, so the re-delivered batch is scored against the same state
   * and yields the same alerts (same ids) instead of none.
   */
  rollback(): void;
}

interface Slot {
  readonly scorer: Scorer<unknown>;
  readonly states: Map<string, unknown>;
  recent: RecentIds;
}

interface PartitionStores {
  readonly slots: Slot[];
  /** False while the changelog is being replayed into it. */
  restored: boolean;
  watermark: number;
  lastSweep: number;
  eventsSinceSweep: number;
}

interface Undo {
  readonly states: Map<Slot, Map<string, unknown>>;
  readonly recent: Map<Slot, RecentIds>;
  readonly watermark: number;
  readonly lastSweep: number;
  readonly eventsSinceSweep: number;
}

export class DetectorCore {
  private readonly partitions = new Map<number, PartitionStores>();
  readonly options: CoreOptions;

  constructor(
    readonly scorers: readonly Scorer<unknown>[],
    options: Partial<CoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    const names = new Set<string>();
    for (const s of scorers) {
      if (names.has(s.name)) throw new Error(`two scorers named ${s.name}`);
      names.add(s.name);
    }
  }

  /** Starts a partition with empty stores (then restore() fills them from the changelog). */
  assign(partition: number): void {
    this.partitions.set(partition, {
      slots: this.scorers.map((scorer) => ({ scorer, states: new Map(), recent: new RecentIds(this.options.recentAlertIds) })),
      restored: false,
      watermark: -Infinity,
      lastSweep: -Infinity,
      eventsSinceSweep: 0,
    });
  }

  /** Marks a partition's restore as complete (for stats; processing does not depend on it). */
  markRestored(partition: number): void {
    const p = this.partitions.get(partition);
    if (p) p.restored = true;
  }

  /** Assigned partitions, split by whether their state has been restored yet. */
  partitionStatus(): { restored: number[]; restoring: number[] } {
    const out = { restored: [] as number[], restoring: [] as number[] };
    for (const [n, p] of this.partitions) (p.restored ? out.restored : out.restoring).push(n);
    out.restored.sort((a, b) => a - b);
    out.restoring.sort((a, b) => a - b);
    return out;
  }

  revoke(partition: number): void {
    this.partitions.delete(partition);
  }

  has(partition: number): boolean {
    return this.partitions.has(partition);
  }

  assignedPartitions(): number[] {
    return [...this.partitions.keys()];
  }

  /**
   * Applies one changelog record of `detector` (key `<partition>:<state key>` or
   * `<partition>/recent-alerts`); records of partitions not assigned here are ignored.
   * Later records win and a null value deletes, as compaction would.
   */
  restore(detector: string, rawKey: string, value: Buffer | null, only?: ReadonlySet<number>): void {
    const k = parseChangelogKey(rawKey);
    // `only`: partitions being restored right now; the others are live and ahead of
    // their changelog while a batch is in flight, so replaying onto them would rewind.
    if (!k || (only && !only.has(k.partition))) return;
    const slot = this.partitions.get(k.partition)?.slots.find((s) => s.scorer.name === detector);
    if (!slot) return;
    if (k.kind === 'recent-alerts') {
      slot.recent = value ? RecentIds.deserialize(this.options.recentAlertIds, value) : new RecentIds(this.options.recentAlertIds);
      return;
    }
    if (value === null) slot.states.delete(k.key);
    else {
      slot.states.delete(k.key);
      slot.states.set(k.key, slot.scorer.deserialize(value));
    }
  }

  /** Every entity's state in a partition (benches, debugging, backtest reports). */
  *entries(partition: number): Generator<{ detector: string; key: string; state: unknown }> {
    const p = this.partitions.get(partition);
    if (!p) return;
    for (const slot of p.slots) for (const [key, state] of slot.states) yield { detector: slot.scorer.name, key, state };
  }

  /** Entities and approximate bytes held per scorer, across assigned partitions. */
  stateSize(): Array<{ detector: string; entries: number; bytes: number }> {
    return this.scorers.map((scorer, i) => {
      let entries = 0;
      let bytes = 0;
      for (const p of this.partitions.values()) {
        const slot = p.slots[i];
        if (!slot) continue;
        entries += slot.states.size;
        for (const s of slot.states.values()) bytes += scorer.sizeOf ? scorer.sizeOf(s) : scorer.serialize(s).length;
      }
      return { detector: scorer.name, entries, bytes };
    });
  }

  process(partition: number, records: readonly InputRecord[]): BatchResult {
    const p = this.partitions.get(partition);
    if (!p) throw new Error(`partition ${partition} is not assigned`);
    const undo: Undo = { states: new Map(), recent: new Map(), watermark: p.watermark, lastSweep: p.lastSweep, eventsSinceSweep: p.eventsSinceSweep };
    const dirty = new Map<Slot, Set<string>>();
    const result: BatchResult = {
      events: 0,
      alerts: [],
      decisions: [],
      deadLetters: [],
      changelog: new Map(),
      perDetector: new Map(this.scorers.map((s) => [s.name, { alerts: 0, decisions: 0, suppressed: 0 }])),
      rollback: () => this.rollback(p, undo),
    };

    for (const rec of records) {
      const decoded = decode(rec);
      if (typeof decoded === 'string') {
        result.deadLetters.push(this.deadLetter(rec, decoded));
        continue;
      }
      const e = decoded;
      result.events += 1;
      p.eventsSinceSweep += 1;
      if (e.time > p.watermark) p.watermark = e.time;
      for (const slot of p.slots) this.scoreOne(slot, e, rec, undo, dirty, result);
    }

    this.maybeSweep(p, undo, dirty);

    for (const [slot, keys] of dirty) {
      const out: OutRecord[] = [];
      for (const key of keys) {
        const s = slot.states.get(key);
        out.push({ key: stateKey(partition, key), value: s === undefined ? null : slot.scorer.serialize(s) });
      }
      result.changelog.set(slot.scorer.name, out);
    }
    for (const slot of undo.recent.keys()) {
      const out = result.changelog.get(slot.scorer.name) ?? [];
      out.push({ key: recentAlertsKey(partition), value: slot.recent.serialize() });
      result.changelog.set(slot.scorer.name, out);
    }
    return result;
  }

  private scoreOne(slot: Slot, e: AccessEvent, rec: InputRecord, undo: Undo, dirty: Map<Slot, Set<string>>, result: BatchResult): void {
    const scorer = slot.scorer;
    const key = scorer.keyOf(e);
    if (key === undefined) return;
    const prev = slot.states.get(key);
    const state = prev === undefined ? scorer.init() : prev;
    let scored;
    try {
      scored = scorer.score(state, e);
    } catch (err) {
      // A pure scorer that throws has a bug this event triggers; parking the event keeps
      // the partition moving instead of redelivering a poison pill forever.
      result.deadLetters.push(this.deadLetter(rec, `scorer ${scorer.name} failed: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    // Identity tells what changed: an untouched state needs no changelog write.
    if (scored.state !== state) {
      this.put(slot, key, scored.state, undo, dirty);
    }
    const counts = result.perDetector.get(scorer.name);
    for (const f of scored.findings) {
      const alertId = alertIdOf(f);
      if (slot.recent.has(alertId)) {
        if (counts) counts.suppressed += 1;
        continue;
      }
      if (!undo.recent.has(slot)) undo.recent.set(slot, slot.recent.clone());
      slot.recent.add(alertId);
      const finding = toDetectionFinding(f, e, { alertId, productVersion: this.options.productVersion });
      result.alerts.push({
        key: alertId,
        value: Buffer.from(JSON.stringify(finding)),
        headers: { 'content-type': 'application/json', detector: f.detector },
      });
      if (counts) counts.alerts += 1;
      const decision = decisionOf(f, alertId, e.environment);
      if (decision) {
        result.decisions.push({ key: decision.subject ?? '', value: encodeDecision(decision), headers: { detector: f.detector } });
        if (counts) counts.decisions += 1;
      }
    }
  }

  /** Stores a state as most recently used, evicting the least recently used over the bound. */
  private put(slot: Slot, key: string, state: unknown, undo: Undo, dirty: Map<Slot, Set<string>>): void {
    remember(undo, slot, key);
    slot.states.delete(key);
    slot.states.set(key, state);
    markDirty(dirty, slot, key);
    while (slot.states.size > this.options.maxKeysPerPartition) {
      const oldest = slot.states.keys().next().value as string;
      remember(undo, slot, oldest);
      slot.states.delete(oldest);
      markDirty(dirty, slot, oldest);
    }
  }

  /**
   * Decays dormant entities, whose own events would otherwise never come to expire
   * them. Runs once event time has moved evictIntervalMs AND at least as many events as
   * there are entities have passed, so a fast replay of old history pays O(1) per event.
   */
  private maybeSweep(p: PartitionStores, undo: Undo, dirty: Map<Slot, Set<string>>): void {
    if (p.watermark - p.lastSweep < this.options.evictIntervalMs) return;
    let entities = 0;
    for (const slot of p.slots) entities += slot.states.size;
    if (p.eventsSinceSweep < entities) return;
    p.lastSweep = p.watermark;
    p.eventsSinceSweep = 0;
    for (const slot of p.slots) {
      const evict = slot.scorer.evict;
      if (!evict) continue;
      for (const [key, state] of slot.states) {
        const next = evict.call(slot.scorer, state, p.watermark);
        if (next === state) continue;
        remember(undo, slot, key);
        if (next === undefined) slot.states.delete(key);
        else slot.states.set(key, next);
        markDirty(dirty, slot, key);
      }
    }
  }

  private rollback(p: PartitionStores, undo: Undo): void {
    for (const [slot, saved] of undo.states) {
      for (const [key, state] of saved) {
        if (state === undefined) slot.states.delete(key);
        else slot.states.set(key, state);
      }
    }
    for (const [slot, recent] of undo.recent) slot.recent = recent;
    p.watermark = undo.watermark;
    p.lastSweep = undo.lastSweep;
    p.eventsSinceSweep = undo.eventsSinceSweep;
  }

  private deadLetter(rec: InputRecord, reason: string): OutRecord {
    const value = DeadLetter.encode({
      sourceTopic: rec.topic,
      sourcePartition: rec.partition,
      sourceOffset: rec.offset,
      key: rec.key ?? undefined,
      value: rec.value ?? undefined,
      reason,
      consumer: this.options.consumer,
      time: rec.timestamp,
    }).finish();
    return { key: rec.key, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength), headers: { reason: reason.slice(0, 200) } };
  }
}

/** The event, or why it cannot be scored. */
function decode(rec: InputRecord): AccessEvent | string {
  if (rec.value === null) return 'null value on the events topic';
  let e: AccessEvent;
  try {
    e = decodeEvent(rec.value);
  } catch (err) {
    return `undecodable AccessEvent: ${err instanceof Error ? err.message : String(err)}`;
  }
  // Protobuf decodes many byte strings "successfully" into empty messages; an event
  // without an id or an event time would poison ids and decay, so it is parked too.
  if (!e.eventId) return 'invalid AccessEvent: missing event_id';
  if (!(e.time > 0)) return 'invalid AccessEvent: missing time';
  return e;
}

function remember(undo: Undo, slot: Slot, key: string): void {
  let saved = undo.states.get(slot);
  if (!saved) {
    saved = new Map();
    undo.states.set(slot, saved);
  }
  if (!saved.has(key)) saved.set(key, slot.states.get(key));
}

function markDirty(dirty: Map<Slot, Set<string>>, slot: Slot, key: string): void {
  let keys = dirty.get(slot);
  if (!keys) {
    keys = new Set();
    dirty.set(slot, keys);
  }
  keys.add(key);
}
