import { DeadLetter } from '@portcullis/proto';
import type { BusRecord, OutgoingRecord } from '@portcullis/bus';

/** The portcullis.dlq record for an undecodable record: original key and bytes untouched, where they came from and why. */
export function deadLetterRecord(r: BusRecord, reason: string, consumer: string, now: number): OutgoingRecord {
  const w = DeadLetter.encode({
    sourceTopic: r.topic,
    sourcePartition: r.partition,
    sourceOffset: r.offset,
    key: r.key ?? Buffer.alloc(0),
    value: r.value ?? Buffer.alloc(0),
    reason,
    consumer,
    time: now,
  }).finish();
  return { key: r.key, value: Buffer.from(w.buffer, w.byteOffset, w.byteLength), timestamp: now };
}
