/**
 * One partition of the in-process bus: an append-only log with dense offsets, Kafka's
 * compaction for `compact` topics and bounded retention for `delete` topics. Offsets are
 * plain numbers here (2^53 appends is beyond any embedded run) and strings at the edge.
 */
export interface StoredRecord {
  offset: number;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: number;
  headers: Record<string, string>;
  /** When the bus appended it; time retention uses this, not the (event-time) timestamp. */
  appendedAt: number;
}

export interface PartitionLogOptions {
  compact: boolean;
  /** Delete topics: the oldest records beyond this count are evicted. */
  maxRecords: number;
  /** Delete topics: records appended longer ago than this are evicted. */
  retentionMs?: number;
  /**
   * Compact topics: how long a tombstone stays readable after it superseded a value, so a
   * consumer that saw the value also sees its deletion (Kafka's delete.retention.ms).
   */
  tombstoneRetentionMs: number;
}

export class PartitionLog {
  // Parallel arrays: offsets stay sorted and dense enough for a binary search; a
  // compacted-away record leaves a null in `records` until the arrays are rebuilt.
  private offsets: number[] = [];
  private records: Array<StoredRecord | null> = [];
  private holes = 0;
  private head = 0; // index of the first live slot (evicted slots before it are garbage)
  private next = 0;
  private start = 0;
  private readonly latestByKey = new Map<string, number>();
  private readonly tombstones: Array<{ offset: number; key: string; at: number }> = [];

  constructor(private readonly opts: PartitionLogOptions) {}

  /** The log start offset (first offset a reader can get). */
  get startOffset(): number {
    return this.start;
  }

  /** The offset the next append gets (Kafka's high watermark / end offset). */
  get endOffset(): number {
    return this.next;
  }

  get size(): number {
    return this.offsets.length - this.head - this.holes;
  }

  /** Appends and returns how many records retention evicted to make room. */
  append(rec: Omit<StoredRecord, 'offset' | 'appendedAt'>, now: number): { offset: number; evicted: number } {
    const offset = this.next++;
    const stored: StoredRecord = { ...rec, offset, appendedAt: now };
    this.offsets.push(offset);
    this.records.push(stored);
    let evicted = 0;
    if (this.opts.compact) {
      this.compactKey(stored, now);
    } else {
      evicted = this.enforceRetention(now);
    }
    this.maybeRebuild();
    return { offset, evicted };
  }

  /** Up to `max` live records with offset >= from, in offset order. */
  read(from: number, max: number, below: number = this.next): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (let i = this.indexOf(Math.max(from, this.start)); i < this.offsets.length && out.length < max; i++) {
      const r = this.records[i];
      if (r === undefined || r === null) continue;
      if (r.offset >= below) break;
      out.push(r);
    }
    return out;
  }

  private compactKey(stored: StoredRecord, now: number): void {
    if (stored.key === null) return; // rejected by the bus before it gets here
    const k = stored.key.toString('latin1');
    const previous = this.latestByKey.get(k);
    if (previous !== undefined) this.drop(previous);
    this.latestByKey.set(k, stored.offset);
    if (stored.value === null) this.tombstones.push({ offset: stored.offset, key: k, at: now });
    // Tombstones expire in append order; one that was superseded is already gone.
    while (this.tombstones.length > 0 && (this.tombstones[0]?.at ?? now) + this.opts.tombstoneRetentionMs <= now) {
      const t = this.tombstones.shift();
      if (t && this.latestByKey.get(t.key) === t.offset) {
        this.latestByKey.delete(t.key);
        this.drop(t.offset);
      }
    }
  }

  private enforceRetention(now: number): number {
    let evicted = 0;
    const cutoff = this.opts.retentionMs === undefined ? -Infinity : now - this.opts.retentionMs;
    while (this.head < this.records.length) {
      const live = this.offsets.length - this.head;
      const r = this.records[this.head];
      if (live <= this.opts.maxRecords && (r === null || r === undefined || r.appendedAt >= cutoff)) break;
      this.head++;
      evicted++;
    }
    if (this.head < this.offsets.length) this.start = this.offsets[this.head] ?? this.next;
    else this.start = this.next;
    return evicted;
  }

  private drop(offset: number): void {
    const i = this.indexOf(offset);
    if (this.offsets[i] === offset && this.records[i] !== null) {
      this.records[i] = null;
      this.holes++;
    }
  }

  /** Rebuilds the arrays once garbage outweighs live records, so memory stays bounded. */
  private maybeRebuild(): void {
    const garbage = this.holes + this.head;
    if (garbage < 1024 || garbage < this.offsets.length / 2) return;
    const offsets: number[] = [];
    const records: StoredRecord[] = [];
    for (let i = this.head; i < this.records.length; i++) {
      const r = this.records[i];
      if (r) {
        offsets.push(r.offset);
        records.push(r);
      }
    }
    this.offsets = offsets;
    this.records = records;
    this.holes = 0;
    this.head = 0;
  }

  /** Index of the first slot at or after the live head whose offset is >= target. */
  private indexOf(target: number): number {
    let lo = this.head;
    let hi = this.offsets.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.offsets[mid] ?? Infinity) < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
