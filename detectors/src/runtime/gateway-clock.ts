/**
 * The partition's event-time watermark, robust to clock skew between gateways. Every
 * gateway stamps event time with its own clock; taking the plain maximum would let one
 * gateway running an hour fast drag the watermark an hour ahead, and with it the decay
 * sweeps and the closing of risk episodes. Instead each gateway's newest event time is
 * tracked, and the watermark is the SLOWEST of the gateways still sending: a gateway
 * counts as sending while one of its records is among the partition's last
 * `activeRecords` arrivals — judged by arrival order, which no gateway clock can skew.
 * A gateway that is behind holds the watermark back (the safe side: decay and closes
 * come late, never early); a gateway that is ahead cannot push it. The watermark never
 * moves back. With one gateway it is that gateway's newest event time.
 */
export class GatewayClock {
  private readonly latest = new Map<string, { time: number; seq: number }>();
  private seq = 0;
  watermark = -Infinity;

  constructor(
    private readonly activeRecords = 10_000,
    private readonly maxGateways = 256,
  ) {}

  observe(gateway: string, time: number): void {
    this.seq += 1;
    const g = this.latest.get(gateway);
    if (g) {
      if (time > g.time) g.time = time;
      g.seq = this.seq;
      return;
    }
    if (this.latest.size >= this.maxGateways) this.forgetQuietest();
    this.latest.set(gateway, { time, seq: this.seq });
  }

  /** Moves the watermark to the slowest active gateway's newest time (never back); returns it. */
  advance(): number {
    let min = Infinity;
    for (const [gateway, g] of this.latest) {
      if (this.seq - g.seq >= this.activeRecords) {
        this.latest.delete(gateway);
        continue;
      }
      if (g.time < min) min = g.time;
    }
    if (min !== Infinity && min > this.watermark) this.watermark = min;
    return this.watermark;
  }

  snapshot(): { entries: Array<[string, number, number]>; seq: number; watermark: number } {
    return { entries: [...this.latest].map(([k, g]) => [k, g.time, g.seq]), seq: this.seq, watermark: this.watermark };
  }

  restoreSnapshot(s: ReturnType<GatewayClock['snapshot']>): void {
    this.latest.clear();
    for (const [k, time, seq] of s.entries) this.latest.set(k, { time, seq });
    this.seq = s.seq;
    this.watermark = s.watermark;
  }

  private forgetQuietest(): void {
    let victim: string | undefined;
    let oldest = Infinity;
    for (const [k, g] of this.latest) if (g.seq < oldest) [victim, oldest] = [k, g.seq];
    if (victim !== undefined) this.latest.delete(victim);
  }
}
