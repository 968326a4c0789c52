export type { Bus, BusBatch, BusProducer, BusRecord, OutgoingRecord, ProducerOptions, SubscribeOptions, Subscription } from './bus.js';
export { partitionNotOwned } from './manual-commit.js';
export { murmur2, toPositive, partitionForKey, createPartitioner } from './partitioner.js';
export { MemoryBus, createMemoryBus, type MemoryBusOptions } from './memory-bus.js';
export { KafkaBus, createKafkaBus, type KafkaBusOptions } from './kafka-bus.js';
export { createBus, type CreateBusExtras } from './create-bus.js';
export { createSpoolingPublisher, type SpoolingPublisher, type SpoolingPublisherOptions } from './spooling-publisher.js';
