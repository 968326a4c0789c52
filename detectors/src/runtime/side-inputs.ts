import type { Bus, BusBatch, Subscription } from '@portcullis/bus';
import { uuidv7, type Logger } from '@portcullis/common';
import type { SideInput } from '../scorer.js';

/**
 * Feeds the scorers' side inputs (compacted topics read as views, src/scorer.ts): one
 * subscription per topic in a group unique to this process, from the beginning, because
 * every member needs every record whatever events partitions it owns. `catchUp()`
 * resolves once each topic has been read up to its end offsets as of the call, so an
 * events batch scored after it sees every record published before its events were.
 */
export class SideInputFeed {
  private readonly byTopic = new Map<string, SideInput[]>();
  /** topic → partition → next offset to read. */
  private readonly positions = new Map<string, Map<number, bigint>>();
  private readonly subscriptions: Subscription[] = [];
  private waiters: Array<() => void> = [];
  private timeoutLogged = false;
  /** Phases whose events are scored against a view; undefined = every event. */
  private readonly phases: ReadonlySet<number> | undefined;

  constructor(
    private readonly bus: Bus,
    inputs: readonly SideInput[],
    private readonly opts: { groupId: string; logger: Logger; catchUpTimeoutMs: number; onIgnored: (topic: string, reason: string) => void; onTimeout: () => void },
  ) {
    for (const input of inputs) {
      const list = this.byTopic.get(input.topic) ?? [];
      list.push(input);
      this.byTopic.set(input.topic, list);
    }
    this.phases = inputs.every((i) => i.phases) ? new Set(inputs.flatMap((i) => i.phases ?? [])) : undefined;
  }

  /**
   * Whether a batch of events holds one scored against a view, by peeking at each
   * record's phase field (no full decode: this runs on every batch).
   */
  wants(records: ReadonlyArray<{ value: Buffer | null }>): boolean {
    const phases = this.phases;
    if (!phases) return records.length > 0;
    for (const r of records) {
      if (!r.value) continue;
      const phase = peekPhase(r.value);
      if (phase === undefined || phases.has(phase)) return true;
    }
    return false;
  }

  get topics(): string[] {
    return [...this.byTopic.keys()];
  }

  /** Subscribes and reads every topic to its end. */
  async start(): Promise<void> {
    for (const topic of this.byTopic.keys()) {
      this.positions.set(topic, new Map());
      this.subscriptions.push(
        await this.bus.subscribe({
          groupId: `${this.opts.groupId}.side.${uuidv7()}`,
          topics: [topic],
          fromBeginning: true,
          handler: async (batch) => this.fold(batch),
        }),
      );
    }
    await this.catchUp();
  }

  /**
   * Waits until every topic has been read to its end offsets as of now. After
   * catchUpTimeoutMs it gives up (counted, logged once) rather than stall the events
   * consumer: a view a little behind may raise an alert an approval would have silenced,
   * which a person can judge; a stuck detector raises nothing.
   */
  async catchUp(): Promise<void> {
    const targets = new Map<string, Map<number, bigint>>();
    for (const topic of this.byTopic.keys()) targets.set(topic, await this.bus.endOffsets(topic));
    if (this.reached(targets)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        this.opts.onTimeout();
        if (!this.timeoutLogged) {
          this.timeoutLogged = true;
          this.opts.logger.warn({ topics: this.topics, timeoutMs: this.opts.catchUpTimeoutMs }, 'side input did not catch up in time; scoring against the view as it is');
        }
        resolve();
      }, this.opts.catchUpTimeoutMs);
      const check = (): void => {
        if (!this.reached(targets)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
    });
  }

  async close(): Promise<void> {
    const subs = this.subscriptions.splice(0);
    await Promise.all(subs.map((s) => s.close()));
  }

  private fold(batch: BusBatch): void {
    const inputs = this.byTopic.get(batch.topic) ?? [];
    const pos = this.positions.get(batch.topic);
    for (const r of batch.records) {
      const key = r.key?.toString('utf8');
      if (key !== undefined) {
        for (const input of inputs) {
          const ignored = input.apply(key, r.value);
          if (ignored !== undefined) this.opts.onIgnored(batch.topic, ignored);
        }
      } else this.opts.onIgnored(batch.topic, 'record without a key');
      pos?.set(batch.partition, BigInt(r.offset) + 1n);
    }
    for (const w of [...this.waiters]) w();
  }

  private reached(targets: Map<string, Map<number, bigint>>): boolean {
    for (const [topic, ends] of targets) {
      const pos = this.positions.get(topic);
      for (const [p, end] of ends) if (end > 0n && (pos?.get(p) ?? 0n) < end) return false;
    }
    return true;
  }
}

/** AccessEvent.phase (field 5). */
const PHASE_FIELD = 5;

/**
 * The phase of an encoded AccessEvent, read from its top-level fields without decoding
 * the rest; 0 when absent, undefined when the bytes do not parse (the caller then
 * catches up anyway, and the core dead-letters the record).
 */
export function peekPhase(b: Buffer): number | undefined {
  let i = 0;
  const varint = (): number | undefined => {
    let out = 0;
    let shift = 0;
    while (i < b.length && shift < 64) {
      const byte = b[i++] as number;
      if (shift < 32) out += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return out;
      shift += 7;
    }
    return undefined;
  };
  while (i < b.length) {
    const tag = varint();
    if (tag === undefined) return undefined;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === PHASE_FIELD && wire === 0) return varint();
    if (wire === 0) {
      if (varint() === undefined) return undefined;
    } else if (wire === 1) i += 8;
    else if (wire === 2) {
      const len = varint();
      if (len === undefined) return undefined;
      i += len;
    } else if (wire === 5) i += 4;
    else return undefined;
  }
  return i === b.length ? 0 : undefined;
}
