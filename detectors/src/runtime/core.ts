import { DeadLetter, decodeEvent, encodeDecision, type AccessEvent, type IAccessEvent } from '@portcullis/proto';
import { alertIdOf } from '../alerts/ids.js';
import { decisionOf } from '../alerts/decision.js';
import { toDetectionFinding, type AlertActivity } from '../alerts/ocsf.js';
import { subjectString, type Finding, type Scorer, type StateUpdate } from '../scorer.js';
import type { RiskAggregator, RiskState, RiskUpdate } from '../scorers/risk-aggregation.js';
import { offsetKey, parseChangelogKey, recentAlertsKey, runtimeKey, stateKey } from './changelog-keys.js';
import { EntityStore, type Dirty, type Entry } from './entity-store.js';
import { EventIdRing, eventIdHash, type RingMark } from './event-id-ring.js';
import { GatewayClock } from './gateway-clock.js';
import { RecentIds } from './recent-ids.js';
import { decodeRuntimeRecord, encodeRuntimeRecord } from './runtime-record.js';

/**
 * The detector runtime without I/O: per-partition state stores for every scorer and the
 * risk aggregator, one batch in → the records to publish out (alerts, decisions, dead
 * letters, changelog). The bus wiring (run-detectors.ts) sends them and commits; this
 * file never touches a broker or a clock, so it is what the throughput bench measures
 * and what a backtest can drive directly.
 *
 * Per record, in order: decode (bad → dead letter); skip a store that already applied
 * this offset (restored from a changelog written just before a crash, so the re-delivered
 * tail of the batch is not counted twice); drop a duplicate event id (a second copy of an
 * event at a later offset); score with every scorer; each finding that is not a repeat
 * (alert-id dedupe) becomes an alert, maybe a decision, and is added to the aggregator.
 *
 * State within a batch: scorers with `update` edit the states held here in place. Before
 * an entity's first update in a batch the core keeps one `clone` of it (the rollback
 * copy; dropped again if that update changed nothing), and every entity with a copy is
 * dirty: at the end of the batch each dirty entity is serialised ONCE, with its final
 * state, into the changelog (a tombstone if it was dropped). Scorers without `update` and
 * the aggregator return new states; their replaced state is the rollback copy.
 *
 * A batch is all or nothing for the in-memory state: if anything throws while it is
 * processed, every store, the alert dedupe sets, the event-id ring, the blocks and the
 * watermark are put back as they were before it and the error is rethrown; and
 * `rollback()` on the result does the same after the fact (publishing failed). A scorer
 * that throws on one event is a bug that event triggers: the batch is put back and run
 * again with that (scorer, event) pair parked as a dead letter, so the entity's state is
 * exactly as if the event had never reached that scorer (as with immutable states) and
 * the partition keeps moving instead of redelivering a poison pill forever.
 *
 * Windows: the unit of rollback copies and changelog records is a window, which is one
 * batch with `flush: 'batch'`, and with `flush: 'explicit'` every batch from the first
 * process() after a flush() to the next flush() — so an entity updated in many batches
 * of a window is copied and serialised once (the runtime flushes every commit interval
 * and commits offsets only after the changelog, like Kafka Streams' commit.interval.ms).
 * A failure inside a window puts the partition back to the window's start, which is its
 * last flush: the caller then replays from the offset committed with that flush
 * (WindowRolledBack says so when process() itself cannot rerun what it was not given).
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
  /** Event ids remembered per partition to drop duplicate events (0 = off). */
  recentEventIds: number;
  /** A gateway counts toward the watermark while one of its records is among this many latest arrivals. */
  watermarkActiveRecords: number;
  /** The findings aggregator (risk aggregation), run after the scorers on their findings. */
  aggregator: RiskAggregator | undefined;
  /** Environment stamped on decisions; empty = the environment of the event behind each. */
  decisionEnvironment: string;
  /**
   * When a partition's state goes to the changelog. 'batch': every process() call ends
   * with its changelog records (the result carries them). 'explicit': process() calls
   * add to an open window, and flush() ends it with one record per entity the window
   * changed — the runtime's commit interval (see the file comment).
   */
  flush: 'batch' | 'explicit';
}

export const DEFAULT_CORE_OPTIONS: CoreOptions = {
  consumer: 'portcullis-detectors',
  productVersion: '0.1.0',
  maxKeysPerPartition: 1_000_000,
  evictIntervalMs: 60_000,
  recentAlertIds: 1024,
  recentEventIds: 2048,
  watermarkActiveRecords: 10_000,
  aggregator: undefined,
  decisionEnvironment: '',
  flush: 'batch',
};

/** The changelog store of the runtime's own per-partition record (event-id ring, live blocks). */
export const RUNTIME_STORE = 'runtime';

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
  /** Records skipped: already applied (offset) or a duplicate event id. */
  duplicates: number;
  alerts: OutRecord[];
  decisions: OutRecord[];
  deadLetters: OutRecord[];
  /** Changelog records per store name (detector, `risk-aggregation`, `runtime`). */
  changelog: Map<string, OutRecord[]>;
  /** Per detector: alerts and decisions emitted, alerts suppressed as repeats. */
  perDetector: Map<string, { alerts: number; decisions: number; suppressed: number }>;
  /**
   * Puts the partition's state back as it was before this batch's window (with
   * `flush: 'batch'`, before this batch). The runtime calls it when publishing fails, so
   * the re-delivered records are scored against the same state and yield the same alerts
   * (same ids) instead of none. Valid until the partition's next window begins.
   */
  rollback(): void;
}

/** What flush() hands over: the window's changelog records, and its undo. */
export interface FlushResult {
  /** Changelog records per store name, each dirty entity once with its final state, then each store's applied offset. */
  changelog: Map<string, OutRecord[]>;
  /** The last events offset the window applied (what the caller commits, plus one). */
  lastOffset: number;
  /** Puts the partition back to the window's start (publishing the changelog failed). */
  rollback(): void;
}

/**
 * process() hit a scorer failure inside a window that began in an earlier call: the
 * partition is back at the window's start and the failing (scorer, event) pair is
 * parked, so the caller replays the records from the window's start (its last commit)
 * and the pair goes to the dead-letter topic on the way.
 */
export class WindowRolledBack extends Error {
  constructor(readonly partition: number) {
    super(`partition ${partition}: a scorer failed inside an open window; replay from the last flush`);
    this.name = 'WindowRolledBack';
  }
}

/** One changelog-backed set of entity states. */
interface Store {
  readonly name: string;
  readonly states: EntityStore;
  /** Last events offset applied to this store (-1: none). */
  applied: number;
  readonly serialize: (s: unknown) => Buffer;
  readonly deserialize: (b: Buffer) => unknown;
  readonly sizeOf: (s: unknown) => number;
}

interface Slot extends Store {
  readonly scorer: Scorer<unknown>;
  /** The scorer's `update`, or `score` adapted to it (a new state object = changed). */
  readonly update: (s: unknown, e: IAccessEvent) => StateUpdate<unknown>;
  /** The rollback copy taken before an entity's first update in a batch; undefined for an immutable-state scorer (the old object is the copy). */
  readonly clone: ((s: unknown) => unknown) | undefined;
  recent: RecentIds;
}

interface PartitionStores {
  readonly slots: Slot[];
  readonly agg: Store | undefined;
  /** False while the changelog is being replayed into it. */
  restored: boolean;
  readonly clock: GatewayClock;
  lastSweep: number;
  eventsSinceSweep: number;
  seen: EventIdRing;
  /** Block decisions this partition published, by subject: event-time expiry (0 = never). */
  blocks: Map<string, number>;
  /** Id of the latest window begun on this partition's stores. */
  batch: number;
  /** The open window (flush: 'explicit' between a process() and the next flush()). */
  window: Window | undefined;
  /** (offset × scorers + scorer index) → why: pairs parked after their scorer threw, until the window that parked them is flushed. */
  parked: Map<number, string> | undefined;
}

/** A window being scored: its undo and what it changed outside the entity stores. */
interface Window {
  readonly undo: Undo;
  runtimeDirty: boolean;
  /** Last events offset scored in the window (-1: none). */
  last: number;
}

/** What a window changed outside the entity stores (those keep their own dirty entries and copies). */
interface Undo {
  /** The window id the stores were begun with: a rollback is only valid while it is the partition's latest. */
  readonly batch: number;
  done: boolean;
  /** Per store (storesOf order): its dirty entries and their copies, once the window has ended. */
  dirty: Dirty[];
  readonly recent: Map<Slot, RecentIds>;
  readonly applied: Map<Store, number>;
  readonly clock: ReturnType<GatewayClock['snapshot']>;
  readonly lastSweep: number;
  readonly eventsSinceSweep: number;
  /** The event-id ring's undo mark, taken on the window's first use of the ring. */
  seen: RingMark | undefined;
  blocks: Map<string, number> | undefined;
}

/** What the batch loop carries per partition. */
interface BatchCtx {
  readonly p: PartitionStores;
  readonly w: Window;
  readonly undo: Undo;
  readonly result: BatchResult;
}

/** A scorer threw on one event (`at`: offset × scorers + scorer index): process() parks that pair and runs the batch again. */
class ScorerFailure extends Error {
  constructor(
    readonly at: number,
    readonly reason: string,
  ) {
    super(reason);
    this.name = 'ScorerFailure';
  }
}

export class DetectorCore {
  private readonly partitions = new Map<number, PartitionStores>();
  /** Batch ids, increasing across partitions (EntityStore.begin). */
  private batches = 0;
  readonly options: CoreOptions;
  private readonly aggregator: RiskAggregator | undefined;

  constructor(
    readonly scorers: readonly Scorer<unknown>[],
    options: Partial<CoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_CORE_OPTIONS, ...options };
    this.aggregator = this.options.aggregator;
    const names = new Set<string>([RUNTIME_STORE]);
    for (const name of this.storeNames().slice(0, -1)) {
      if (names.has(name)) throw new Error(`two stores named ${name}`);
      names.add(name);
    }
  }

  /** Scorer names, then the aggregator's: what alerts and metrics are labelled with. */
  detectorNames(): string[] {
    return [...this.scorers.map((s) => s.name), ...(this.aggregator ? [this.aggregator.name] : [])];
  }

  /** Every changelog store: one per detector, then the runtime's own. */
  storeNames(): string[] {
    return [...this.detectorNames(), RUNTIME_STORE];
  }

  /** Starts a partition with empty stores (then restore() fills them from the changelog). */
  assign(partition: number): void {
    const agg = this.aggregator;
    this.partitions.set(partition, {
      slots: this.scorers.map((scorer) => ({
        name: scorer.name,
        scorer,
        states: new EntityStore(),
        applied: -1,
        recent: new RecentIds(this.options.recentAlertIds),
        ...updaterOf(scorer),
        serialize: (s) => scorer.serialize(s),
        deserialize: (b) => scorer.deserialize(b),
        sizeOf: (s) => (scorer.sizeOf ? scorer.sizeOf(s) : scorer.serialize(s).length),
      })),
      agg: agg
        ? {
            name: agg.name,
            states: new EntityStore(),
            applied: -1,
            serialize: (s) => agg.serialize(s as RiskState),
            deserialize: (b) => agg.deserialize(b),
            sizeOf: (s) => agg.sizeOf(s as RiskState),
          }
        : undefined,
      restored: false,
      clock: new GatewayClock(this.options.watermarkActiveRecords),
      lastSweep: -Infinity,
      eventsSinceSweep: 0,
      seen: new EventIdRing(this.options.recentEventIds),
      blocks: new Map(),
      batch: 0,
      window: undefined,
      parked: undefined,
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

  /** The partition's event-time watermark (see gateway-clock.ts), -Infinity before any event. */
  watermark(partition: number): number {
    return this.partitions.get(partition)?.clock.watermark ?? -Infinity;
  }

  /**
   * Applies one changelog record of store `store` (a detector name, the aggregator's or
   * `runtime`); records of partitions not assigned here are ignored. Later records win
   * and a null value deletes, as compaction would.
   */
  restore(store: string, rawKey: string, value: Buffer | null, only?: ReadonlySet<number>): void {
    const k = parseChangelogKey(rawKey);
    // `only`: partitions being restored right now; the others are live and ahead of
    // their changelog while a batch is in flight, so replaying onto them would rewind.
    if (!k || (only && !only.has(k.partition))) return;
    const p = this.partitions.get(k.partition);
    if (!p) return;
    if (store === RUNTIME_STORE) {
      if (k.kind !== 'runtime') return;
      const r = value ? decodeRuntimeRecord(this.options.recentEventIds, value) : undefined;
      p.seen = r?.seen ?? new EventIdRing(this.options.recentEventIds);
      p.blocks = r?.blocks ?? new Map();
      return;
    }
    const target: Store | undefined = p.agg?.name === store ? p.agg : p.slots.find((s) => s.name === store);
    if (!target) return;
    switch (k.kind) {
      case 'recent-alerts':
        if ('recent' in target) (target as Slot).recent = value ? RecentIds.deserialize(this.options.recentAlertIds, value) : new RecentIds(this.options.recentAlertIds);
        return;
      case 'offset':
        target.applied = value && value.length >= 8 ? value.readDoubleLE(0) : -1;
        return;
      case 'state':
        target.states.restore(k.key, value === null ? undefined : target.deserialize(value));
        return;
      default:
        return;
    }
  }

  /** Every entity's state in a partition (benches, debugging, backtest reports). */
  *entries(partition: number): Generator<{ detector: string; key: string; state: unknown }> {
    const p = this.partitions.get(partition);
    if (!p) return;
    for (const store of storesOf(p)) for (const e of store.states.entries()) yield { detector: store.name, key: e.key, state: e.state };
  }

  /** Entities, approximate heap bytes and serialised bytes held per detector, across assigned partitions. */
  stateSize(options: { serialized?: boolean } = {}): Array<{ detector: string; entries: number; bytes: number; serializedBytes: number }> {
    const out = new Map(this.detectorNames().map((d) => [d, { detector: d, entries: 0, bytes: 0, serializedBytes: 0 }]));
    for (const p of this.partitions.values()) {
      for (const store of storesOf(p)) {
        const row = out.get(store.name);
        if (!row) continue;
        row.entries += store.states.size;
        for (const e of store.states.entries()) {
          row.bytes += store.sizeOf(e.state);
          if (options.serialized) row.serializedBytes += store.serialize(e.state).length;
        }
      }
    }
    return [...out.values()];
  }

  /**
   * Scores one batch of a partition's records. All or nothing for the in-memory state:
   * on a throw the partition is as it was before the batch (see the file comment).
   */
  process(partition: number, records: readonly InputRecord[]): BatchResult {
    const p = this.partitions.get(partition);
    if (!p) throw new Error(`partition ${partition} is not assigned`);
    for (;;) {
      // Only a window this call opens can be rerun from the records in hand.
      const opens = p.window === undefined;
      try {
        const result = this.attempt(p, records);
        if (this.options.flush === 'batch') result.changelog = this.endWindow(partition, p).changelog;
        return result;
      } catch (err) {
        if (!(err instanceof ScorerFailure)) throw err;
        // Deterministic scorers throw on the same pair again: each retry parks one more.
        (p.parked ??= new Map()).set(err.at, err.reason);
        if (!opens) throw new WindowRolledBack(partition);
      }
    }
  }

  /**
   * Ends the partition's open window (flush: 'explicit'): its changelog records, each
   * entity the window changed once. Undefined when no window is open. Until the next
   * process() the result's rollback() can still put the partition back to the window's start.
   */
  flush(partition: number): FlushResult | undefined {
    const p = this.partitions.get(partition);
    if (!p?.window) return undefined;
    return this.endWindow(partition, p);
  }

  /** Whether the partition has scored records since its last flush (flush: 'explicit'). */
  hasOpenWindow(partition: number): boolean {
    return this.partitions.get(partition)?.window !== undefined;
  }

  private openWindow(p: PartitionStores): Window {
    const stores = storesOf(p);
    p.batch = ++this.batches;
    for (const store of stores) store.states.begin(p.batch);
    const undo: Undo = {
      batch: p.batch,
      done: false,
      dirty: [],
      recent: new Map(),
      applied: new Map(stores.map((s) => [s, s.applied])),
      clock: p.clock.snapshot(),
      lastSweep: p.lastSweep,
      eventsSinceSweep: p.eventsSinceSweep,
      seen: undefined,
      blocks: undefined,
    };
    return { undo, runtimeDirty: false, last: -1 };
  }

  private attempt(p: PartitionStores, records: readonly InputRecord[]): BatchResult {
    const w = (p.window ??= this.openWindow(p));
    const undo = w.undo;
    const result: BatchResult = {
      events: 0,
      duplicates: 0,
      alerts: [],
      decisions: [],
      deadLetters: [],
      changelog: new Map(),
      perDetector: new Map(this.detectorNames().map((name) => [name, { alerts: 0, decisions: 0, suppressed: 0 }])),
      rollback: () => this.rollback(p, undo),
    };
    const ctx: BatchCtx = { p, w, undo, result };
    try {
      this.scoreBatch(ctx, records);
      this.maybeSweep(ctx);
    } catch (err) {
      this.rollback(p, undo);
      throw err;
    }
    return result;
  }

  private endWindow(partition: number, p: PartitionStores): FlushResult {
    const w = p.window as Window;
    const undo = w.undo;
    p.window = undefined;
    p.parked = undefined;
    undo.dirty = storesOf(p).map((s) => s.states.end());
    let changelog: Map<string, OutRecord[]>;
    try {
      changelog = this.writeChangelog(partition, p, w);
    } catch (err) {
      this.rollback(p, undo);
      throw err;
    }
    return { changelog, lastOffset: w.last, rollback: () => this.rollback(p, undo) };
  }

  private scoreBatch(ctx: BatchCtx, records: readonly InputRecord[]): void {
    const { p, w, result } = ctx;
    const slots = p.slots;
    const parked = p.parked;
    let last = -1;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i] as InputRecord;
      const offset = Number(rec.offset);
      last = offset;
      // Applied by every store before a crash (their changelogs were written, the commit was not).
      if (allApplied(p, offset)) {
        result.duplicates += 1;
        continue;
      }
      const decoded = decode(rec);
      if (typeof decoded === 'string') {
        result.deadLetters.push(this.deadLetter(rec, decoded));
        continue;
      }
      const e = decoded;
      if (offset > p.seen.upTo && this.options.recentEventIds > 0) {
        if (!ctx.undo.seen) ctx.undo.seen = p.seen.mark();
        w.runtimeDirty = true;
        p.seen.upTo = offset;
        const h = eventIdHash(e.eventId);
        if (p.seen.has(h)) {
          result.duplicates += 1;
          continue;
        }
        p.seen.add(h);
      }
      result.events += 1;
      p.eventsSinceSweep += 1;
      p.clock.observe(e.gatewayId, e.time);
      for (let k = 0; k < slots.length; k++) {
        const slot = slots[k] as Slot;
        if (offset <= slot.applied) continue;
        const at = offset * slots.length + k;
        const why = parked?.get(at);
        if (why !== undefined) result.deadLetters.push(this.deadLetter(rec, why));
        else this.scoreOne(ctx, slot, e, offset, at);
      }
    }
    if (last >= 0) {
      for (const store of storesOf(p)) if (last > store.applied) store.applied = last;
      if (last > w.last) w.last = last;
    }
  }

  private scoreOne(ctx: BatchCtx, slot: Slot, e: AccessEvent, offset: number, at: number): void {
    const scorer = slot.scorer;
    const key = scorer.keyOf(e);
    if (key === undefined) return;
    const states = slot.states;
    const entry = states.get(key);
    const state = entry === undefined ? scorer.init() : entry.state;
    // Before the entity's first update this batch: its rollback copy (for a scorer that
    // replaces states, the old object itself, saved once the update has replaced it).
    const first = entry !== undefined && !states.isDirty(entry);
    if (first && slot.clone !== undefined) states.markDirty(entry, slot.clone(state));
    let u: StateUpdate<unknown>;
    try {
      u = slot.update(state, e);
    } catch (err) {
      // The state may be half-updated: process() puts the batch back and parks this pair.
      throw new ScorerFailure(at, `scorer ${scorer.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (u.changed) {
      if (entry === undefined) this.insert(slot, key, u.state);
      else {
        if (first) states.markDirty(entry, state);
        entry.state = u.state;
        states.touch(entry);
      }
    } else if (first && slot.clone !== undefined) states.unmarkDirty(entry);
    const findings = u.findings;
    if (findings.length === 0) return;
    const counts = ctx.result.perDetector.get(scorer.name);
    for (const f of findings) {
      const alertId = alertIdOf(f);
      if (slot.recent.has(alertId)) {
        if (counts) counts.suppressed += 1;
        continue;
      }
      if (!ctx.undo.recent.has(slot)) ctx.undo.recent.set(slot, slot.recent.clone());
      slot.recent.add(alertId);
      this.emit(ctx, f, e, alertId, 'create');
      this.aggregate(ctx, f, e, offset);
    }
  }

  /** Publishes one alert record and the decision it asks for (unless the subject is already blocked). */
  private emit(ctx: BatchCtx, f: Finding, e: IAccessEvent, alertId: string, activity: AlertActivity): void {
    const counts = ctx.result.perDetector.get(f.detector);
    const finding = toDetectionFinding(f, e, { alertId, productVersion: this.options.productVersion, activity });
    ctx.result.alerts.push({
      key: alertId,
      value: Buffer.from(JSON.stringify(finding)),
      headers: { 'content-type': 'application/json', detector: f.detector, activity },
    });
    if (counts) counts.alerts += 1;
    const decision = decisionOf(f, alertId, this.options.decisionEnvironment || (e.environment ?? ''));
    if (!decision?.subject) return;
    // One decision per subject while a block this partition published is in force (event
    // time): a critical leakage block and the aggregator's block on the same agent in one
    // episode are one decision, not two records racing on the compacted key.
    const p = ctx.p;
    const until = p.blocks.get(decision.subject);
    const at = f.lastSeen;
    if (until !== undefined && (until === 0 || until > at)) return;
    if (!ctx.undo.blocks) ctx.undo.blocks = new Map(p.blocks);
    p.blocks.set(decision.subject, Number(decision.expiresAt ?? 0));
    ctx.w.runtimeDirty = true;
    ctx.result.decisions.push({ key: decision.subject, value: encodeDecision(decision), headers: { detector: f.detector } });
    if (counts) counts.decisions += 1;
  }

  /** Folds a finding into its entity's risk; publishes the episode's create/update/close. */
  private aggregate(ctx: BatchCtx, f: Finding, e: AccessEvent, offset: number): void {
    const agg = this.aggregator;
    const store = ctx.p.agg;
    if (!agg || !store || offset <= store.applied) return;
    const entity = agg.entityOf(f, e);
    const key = subjectString(entity);
    const entry = store.states.get(key);
    const state = entry === undefined ? agg.init(entity) : (entry.state as RiskState);
    const r = agg.add(state, f, e.time);
    if (r.state !== state) {
      if (entry === undefined) this.insert(store, key, r.state);
      else {
        // Risk states are replaced, never edited: the old object is the rollback copy.
        store.states.markDirty(entry, state);
        entry.state = r.state;
        store.states.touch(entry);
      }
    }
    if (r.closed) this.emitUpdate(ctx, r.closed, e);
    if (r.update && r.update !== r.closed) this.emitUpdate(ctx, r.update, e);
  }

  private emitUpdate(ctx: BatchCtx, u: RiskUpdate, e: IAccessEvent): void {
    this.emit(ctx, u.finding, e, u.alertKey, u.activity);
  }

  /** Adds a new entity as the most recently updated, dropping the least recently updated over the bound. */
  private insert(store: Store, key: string, state: unknown): void {
    const states = store.states;
    states.insert(key, state);
    while (states.size > this.options.maxKeysPerPartition) {
      const oldest = states.oldest();
      if (!oldest) break;
      states.remove(oldest);
    }
  }

  /**
   * Decays dormant entities, whose own events would otherwise never come to expire
   * them, and closes risk episodes that decayed below their close threshold. Runs once
   * the watermark has moved evictIntervalMs AND at least as many events as there are
   * entities have passed, so a fast replay of old history pays O(1) per event.
   */
  private maybeSweep(ctx: BatchCtx): void {
    const p = ctx.p;
    const now = p.clock.advance();
    if (now - p.lastSweep < this.options.evictIntervalMs) return;
    let entities = 0;
    for (const store of storesOf(p)) entities += store.states.size;
    if (p.eventsSinceSweep < entities) return;
    p.lastSweep = now;
    p.eventsSinceSweep = 0;
    for (const slot of p.slots) {
      const evict = slot.scorer.evict;
      if (!evict) continue;
      for (const entry of slot.states.entries()) {
        const next = evict.call(slot.scorer, entry.state, now);
        if (next === entry.state) continue;
        replace(slot, entry, next);
      }
    }
    const agg = this.aggregator;
    if (agg && p.agg) {
      for (const entry of p.agg.states.entries()) {
        const raw = entry.state;
        let state = raw as RiskState;
        if (state.episode) {
          const r = agg.tick(state, now);
          if (r.closed) this.emitUpdate(ctx, r.closed, eventOfEntity(state));
          state = r.state;
        }
        const next = agg.evict(state, now);
        if (next !== raw) replace(p.agg, entry, next);
      }
    }
    for (const [subject, until] of p.blocks) {
      if (until !== 0 && until <= now) {
        if (!ctx.undo.blocks) ctx.undo.blocks = new Map(p.blocks);
        p.blocks.delete(subject);
        ctx.w.runtimeDirty = true;
      }
    }
  }

  private writeChangelog(partition: number, p: PartitionStores, w: Window): Map<string, OutRecord[]> {
    const changelog = new Map<string, OutRecord[]>();
    const undo = w.undo;
    // Every entry a window changed (or dropped) was saved for rollback first: those are the
    // dirty ones, each written once with its final state however often the window changed it.
    const stores = storesOf(p);
    for (let k = 0; k < stores.length; k++) {
      const store = stores[k] as Store;
      const dirty = (undo.dirty[k] as Dirty).entries;
      if (dirty.length === 0) continue;
      const out = new Array<OutRecord>(dirty.length);
      for (let i = 0; i < dirty.length; i++) {
        const e = dirty[i] as Entry;
        out[i] = { key: stateKey(partition, e.key), value: e.linked ? store.serialize(e.state) : null };
      }
      changelog.set(store.name, out);
    }
    for (const slot of undo.recent.keys()) changelogOf(changelog, slot.name).push({ key: recentAlertsKey(partition), value: slot.recent.serialize() });
    if (w.last >= 0) {
      // After the window's entries, so that a store restored up to its offset record holds all of them.
      const offset = Buffer.allocUnsafe(8);
      offset.writeDoubleLE(w.last, 0);
      for (const store of stores) changelogOf(changelog, store.name).push({ key: offsetKey(partition), value: offset });
    }
    if (w.runtimeDirty) changelogOf(changelog, RUNTIME_STORE).push({ key: runtimeKey(partition), value: encodeRuntimeRecord(p.seen, p.blocks) });
    return changelog;
  }

  private rollback(p: PartitionStores, undo: Undo): void {
    if (undo.done) return;
    // The stores hold the copies of their latest batch only.
    if (p.batch !== undo.batch) throw new Error('rollback of a batch that is not the partition’s latest');
    undo.done = true;
    if (p.window?.undo === undo) {
      // Still open: take the stores' dirty lists now.
      undo.dirty = storesOf(p).map((s) => s.states.end());
      p.window = undefined;
    }
    storesOf(p).forEach((store, k) => {
      const d = undo.dirty[k];
      if (d) store.states.rollback(d);
    });
    for (const [slot, recent] of undo.recent) slot.recent = recent;
    for (const [store, applied] of undo.applied) store.applied = applied;
    p.clock.restoreSnapshot(undo.clock);
    p.lastSweep = undo.lastSweep;
    p.eventsSinceSweep = undo.eventsSinceSweep;
    // A no-op if restore() has since replaced the ring: the restored one is then current.
    if (undo.seen) undo.seen.ring.undo(undo.seen);
    if (undo.blocks) p.blocks = undo.blocks;
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

function storesOf(p: PartitionStores): Store[] {
  return p.agg ? [...p.slots, p.agg] : p.slots;
}

/** Whether every store has already applied this offset (nothing left to do for the record); false without stores. */
function allApplied(p: PartitionStores, offset: number): boolean {
  if (p.slots.length === 0 && !p.agg) return false;
  for (const s of p.slots) if (offset > s.applied) return false;
  return !p.agg || offset <= p.agg.applied;
}

/** A scorer's in-place step and its copy, or its pure `score` adapted (identity = unchanged, no copy needed). */
function updaterOf(scorer: Scorer<unknown>): Pick<Slot, 'update' | 'clone'> {
  if (scorer.update && scorer.clone) {
    const update = scorer.update.bind(scorer);
    return { update, clone: scorer.clone.bind(scorer) };
  }
  return {
    update: (s, e) => {
      const r = scorer.score(s, e);
      return { state: r.state, changed: r.state !== s, findings: r.findings };
    },
    clone: undefined,
  };
}

function changelogOf(changelog: Map<string, OutRecord[]>, store: string): OutRecord[] {
  let out = changelog.get(store);
  if (!out) {
    out = [];
    changelog.set(store, out);
  }
  return out;
}

/** The event an entity's close alert renders its actor from (a sweep has no event of its own). */
function eventOfEntity(s: RiskState): IAccessEvent {
  return s.entity.kind === 'identity' ? { identity: { subject: s.entity.value } } : {};
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

/** Replaces (or with undefined, drops) a state without moving it in LRU order; the replaced object is the rollback copy. */
function replace(store: Store, entry: Entry, next: unknown): void {
  if (next === undefined) store.states.remove(entry);
  else {
    store.states.markDirty(entry, entry.state);
    entry.state = next;
  }
}
