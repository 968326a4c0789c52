import { configSchema, silentLogger } from '@portcullis/common';
import { describe, expect, it } from 'vitest';
import { createBus, KafkaBus, MemoryBus } from '../src/index.js';

describe('createBus', () => {
  it('chooses the in-process bus by default and Kafka when the config says so', async () => {
    const embedded = createBus(configSchema.parse({}).bus, silentLogger());
    expect(embedded).toBeInstanceOf(MemoryBus);
    expect(embedded.kind).toBe('memory');
    const distributed = createBus(configSchema.parse({ bus: { kind: 'kafka', brokers: ['127.0.0.1:1'] } }).bus, silentLogger());
    expect(distributed).toBeInstanceOf(KafkaBus);
    expect(distributed.kind).toBe('kafka');
    await embedded.close();
    await distributed.close();
  });
});
