/**
 * What the gateway needs of an event publisher: the shape of `createSpoolingPublisher`
 * from @portcullis/bus, which the gateway makes when none is passed in.
 */
export interface PublishRecord {
  key: string | Buffer | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  timestamp?: number;
}

export interface EventPublisher {
  /** Never throws and never waits: queues, and spools to disk when the broker is down. */
  publish(topic: string, record: PublishRecord): void;
  /** Resolves once the broker has acknowledged; rejects PcxError PCX_AUDIT_UNAVAILABLE. */
  publishAcked(topic: string, record: PublishRecord, timeoutMs: number): Promise<void>;
  stats(): object;
  close(): Promise<void>;
}
