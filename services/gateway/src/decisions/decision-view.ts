import { decodeDecision, DecisionEffect, type Decision } from '@portcullis/proto';

/** What the fold needs of a record on portcullis.decisions (a BusRecord fits). */
export interface DecisionRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
}

export type ApplyOutcome = 'set' | 'lifted' | 'ignored' | 'stale' | 'undecodable';

/**
 * The gateway's copy of the compacted decisions topic: latest decision per key, a
 * tombstone (null value) lifts it. A pure fold with no I/O: the loader feeds it records
 * from readToEnd and then from a live subscription.
 *
 * It remembers the highest offset applied per partition and skips anything at or below
 * it, so the subscription (which starts from the beginning, to leave no gap after
 * readToEnd) cannot briefly re-apply an old block that a later tombstone had lifted.
 *
 * Decisions for another environment are dropped (empty environment = every one); they
 * still replace an earlier decision on the same key, as compaction would.
 */
export class DecisionView {
  private readonly byKey = new Map<string, Decision>();
  private readonly applied = new Map<number, bigint>();
  private readonly blockListeners: Array<(subject: string, decision: Decision) => void> = [];

  constructor(private readonly environment: string) {}

  /** Called for each live block as it is applied, so in-flight commands of its subject can be ended. */
  onBlock(listener: (subject: string, decision: Decision) => void): void {
    this.blockListeners.push(listener);
  }

  apply(record: DecisionRecord): ApplyOutcome {
    const offset = BigInt(record.offset);
    const last = this.applied.get(record.partition);
    if (last !== undefined && offset <= last) return 'stale';
    this.applied.set(record.partition, offset);

    let decision: Decision | undefined;
    if (record.value !== null) {
      try {
        decision = decodeDecision(record.value);
      } catch {
        return 'undecodable';
      }
    }
    const key = record.key?.toString('utf8') || decision?.subject || '';
    if (!key) return 'ignored';
    if (!decision) return this.byKey.delete(key) ? 'lifted' : 'ignored';
    if (decision.environment !== '' && decision.environment !== this.environment) {
      this.byKey.delete(key);
      return 'ignored';
    }
    this.byKey.set(key, decision);
    if (this.blockListeners.length > 0 && isLiveBlock(decision, Date.now())) for (const l of this.blockListeners) l(key, decision);
    return 'set';
  }

  /**
   * The first live block among the given subjects, or undefined. Expiry is judged
   * against `now` at check time, so a decision that expires needs no record to lift it.
   */
  isBlocked(subjects: readonly string[], now: number = Date.now()): Decision | undefined {
    for (const s of subjects) {
      const d = this.byKey.get(s);
      if (d && isLiveBlock(d, now)) return d;
    }
    return undefined;
  }

  /** Live blocks in the view (for /healthz and the gauge). */
  size(now: number = Date.now()): number {
    let n = 0;
    for (const d of this.byKey.values()) if (isLiveBlock(d, now)) n++;
    return n;
  }

  /** An empty view for the same environment: the feed rebuilds into one and swaps it in. */
  emptyLike(): DecisionView {
    return new DecisionView(this.environment);
  }

  /**
   * Takes over another view's decisions and offsets, dropping its own: a rebuild from the
   * topic replaces whatever the snapshot held (the topic wins, including keys compaction
   * has since removed).
   */
  replaceWith(other: DecisionView): void {
    const before = new Map(this.byKey);
    this.byKey.clear();
    this.applied.clear();
    for (const [k, d] of other.byKey) this.byKey.set(k, d);
    for (const [p, o] of other.applied) this.applied.set(p, o);
    // Blocks the rebuild brought that the served view lacked reach the listeners as if applied one by one.
    if (this.blockListeners.length === 0) return;
    const now = Date.now();
    for (const [k, d] of this.byKey) {
      if (isLiveBlock(d, now) && before.get(k)?.decisionId !== d.decisionId) for (const l of this.blockListeners) l(k, d);
    }
  }

  /** Live blocks by key, for the admin API's list (GET /decisions). */
  liveBlocks(now: number = Date.now()): Array<[string, Decision]> {
    const out: Array<[string, Decision]> = [];
    for (const [k, d] of this.byKey) if (isLiveBlock(d, now)) out.push([k, d]);
    return out;
  }

  /** The live block on exactly this key, if any. */
  liveBlock(key: string, now: number = Date.now()): Decision | undefined {
    const d = this.byKey.get(key);
    return d && isLiveBlock(d, now) ? d : undefined;
  }

  /** Decisions not yet expired, by key, for the snapshot; at most `max`. */
  unexpired(now: number = Date.now(), max = Number.POSITIVE_INFINITY): Array<[string, Decision]> {
    const out: Array<[string, Decision]> = [];
    for (const [k, d] of this.byKey) {
      if (out.length >= max) break;
      if (d.expiresAt === 0 || d.expiresAt > now) out.push([k, d]);
    }
    return out;
  }

  /** Fills the view from a snapshot, with no offsets: the next rebuild from the topic replaces it. */
  load(entries: Iterable<readonly [string, Decision]>): void {
    this.byKey.clear();
    this.applied.clear();
    for (const [k, d] of entries) {
      if (d.environment === '' || d.environment === this.environment) this.byKey.set(k, d);
    }
  }

  /** Forgets expired decisions, so the map stays bounded by live ones. */
  prune(now: number = Date.now()): number {
    let n = 0;
    for (const [k, d] of this.byKey) {
      if (!isLiveBlock(d, now) && d.expiresAt !== 0) {
        this.byKey.delete(k);
        n++;
      }
    }
    return n;
  }
}

/**
 * BLOCK is the one effect today; an unspecified effect also blocks, because a decision
 * someone bothered to publish without an effect is more likely a block than not, and a
 * security control should fail closed. A future non-blocking effect will not block.
 */
function isLiveBlock(d: Decision, now: number): boolean {
  if (d.effect !== DecisionEffect.BLOCK && d.effect !== DecisionEffect.DECISION_EFFECT_UNSPECIFIED) return false;
  return d.expiresAt === 0 || d.expiresAt > now;
}

/** The caller-facing reason for a block, naming the decision, its source and reason. */
export function blockReason(d: Decision): string {
  const why = d.reason ? `: ${d.reason}` : '';
  return `blocked by decision ${d.decisionId || '(no id)'} from ${d.source || 'unknown source'} on ${d.subject}${why}`;
}
