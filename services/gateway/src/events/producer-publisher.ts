import { PcxError, type Logger } from '@portcullis/common';
import type { Bus, BusProducer } from '@portcullis/bus';
import type { EventPublisher, PublishRecord } from './publisher.js';

/**
 * A publisher straight over a bus producer, without a disk spool: what the gateway uses
 * until @portcullis/bus ships createSpoolingPublisher. publish() never throws or waits;
 * records the broker refuses are counted as dropped and logged once per outage.
 */
export function createProducerPublisher(bus: Bus, logger: Logger): EventPublisher {
  let producer: Promise<BusProducer> | undefined;
  const stats = { queued: 0, sent: 0, spooled: 0, dropped: 0 };
  let failing = false;

  function get(): Promise<BusProducer> {
    producer ??= bus.producer().catch((e: unknown) => {
      producer = undefined;
      throw e;
    });
    return producer;
  }

  async function send(topic: string, record: PublishRecord): Promise<void> {
    stats.queued++;
    try {
      await (await get()).send(topic, [record]);
      stats.sent++;
      failing = false;
    } catch (e) {
      throw e instanceof PcxError ? e : new PcxError('PCX_AUDIT_UNAVAILABLE', 'the event bus did not accept the record', {}, { cause: e });
    } finally {
      stats.queued--;
    }
  }

  return {
    publish(topic, record) {
      send(topic, record).catch((e: unknown) => {
        stats.dropped++;
        if (!failing) {
          failing = true;
          logger.warn({ topic, code: e instanceof PcxError ? e.code : 'PCX_AUDIT_UNAVAILABLE' }, 'event publication failing; events are being dropped');
        }
      });
    },
    async publishAcked(topic, record, timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PcxError('PCX_AUDIT_UNAVAILABLE', `the event bus did not acknowledge within ${timeoutMs} ms`)), timeoutMs);
      });
      const sending = send(topic, record);
      sending.catch(() => undefined); // its failure is reported by the race below or not at all
      try {
        await Promise.race([sending, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    stats: () => ({ ...stats }),
    async close() {
      const p = producer;
      producer = undefined;
      if (p) await (await p).close();
    },
  };
}
