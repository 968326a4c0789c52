import type { Logger } from '@portcullis/common';
import { partitionNotOwned, type Bus, type SubscribeOptions, type Subscription } from '@portcullis/bus';

/**
 * The bus as seen by other views rebuilt at start (approvals), for a gateway that starts
 * while the broker is unreachable (`reachable()` false, as the decision feed found it):
 * `readToEnd` returns at once with nothing read, and `subscribe` returns a subscription
 * that joins in the background, retrying with a back-off, so such a view starts empty and
 * fills from its from-the-beginning subscription once the broker is back. With the
 * broker reachable everything passes straight through.
 */
export function outageTolerantBus(bus: Bus, reachable: () => boolean, logger: Logger, retry = { initialMs: 500, maxMs: 5_000 }): Bus {
  return {
    kind: bus.kind,
    ensureTopics: (specs) => bus.ensureTopics(specs),
    producer: (options) => bus.producer(options),
    endOffsets: (topic) => bus.endOffsets(topic),
    close: () => bus.close(),
    async readToEnd(topic, onRecord) {
      if (reachable()) return bus.readToEnd(topic, onRecord);
      logger.warn({ topic }, 'broker unreachable at start: this view starts empty and fills from its subscription once the broker is back');
    },
    async subscribe(options) {
      if (reachable()) return bus.subscribe(options);
      return backgroundSubscription(bus, options, logger, retry);
    },
  };
}

function backgroundSubscription(bus: Bus, options: SubscribeOptions, logger: Logger, retry: { initialMs: number; maxMs: number }): Subscription {
  let inner: Subscription | undefined;
  let closed = false;
  let paused = false;
  let wake: () => void = () => {};
  const joining = (async () => {
    let delay = retry.initialMs;
    while (!closed) {
      try {
        const sub = await bus.subscribe(options);
        if (closed) {
          await sub.close();
          return;
        }
        if (paused) sub.pause();
        inner = sub;
        logger.info({ topics: options.topics }, 'subscription joined after the broker came back');
        return;
      } catch (e) {
        if (closed) return;
        logger.debug({ err: e, topics: options.topics, retryMs: delay }, 'subscription not joined yet');
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        delay = Math.min(delay * 2, retry.maxMs);
      }
    }
  })();
  return {
    pause() {
      paused = true;
      inner?.pause();
    },
    resume() {
      paused = false;
      inner?.resume();
    },
    lag: async () => (inner ? inner.lag() : []),
    // Until it has joined, the member owns no partition, so there is nothing it may commit.
    commit: async (offsets) => {
      if (inner) return inner.commit(offsets);
      if (offsets.length > 0) throw partitionNotOwned(options.groupId, offsets);
    },
    async close() {
      closed = true;
      wake();
      await joining;
      await inner?.close();
    },
  };
}
