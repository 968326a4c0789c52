/**
 * Back-pressure between the consumer and the producer: counts records handed to the
 * producer and not yet acknowledged, pauses the subscription above `high` and resumes
 * it once the backlog has drained to `low` (hysteresis, so it does not flap).
 */
export class PublishGate {
  private inFlight = 0;
  private paused = false;

  constructor(
    private readonly high: number,
    private readonly low: number,
    private readonly control: { pause(): void; resume(): void; onChange?(paused: boolean): void },
  ) {}

  get pending(): number {
    return this.inFlight;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** Wraps one publish: counts its records while it is in flight. */
  async track<T>(records: number, publish: () => Promise<T>): Promise<T> {
    this.inFlight += records;
    if (!this.paused && this.inFlight > this.high) {
      this.paused = true;
      this.control.pause();
      this.control.onChange?.(true);
    }
    try {
      return await publish();
    } finally {
      this.inFlight -= records;
      if (this.paused && this.inFlight <= this.low) {
        this.paused = false;
        this.control.resume();
        this.control.onChange?.(false);
      }
    }
  }
}
