export { runSink, type RunSinkOptions, type SinkHandle, type SinkStats } from './sink.js';
export { defaultSinkTopics, tableForTopic, type SinkTopics } from './topics.js';
export { decodeRecord, type Decoded } from './decode.js';
export { deadLetterRecord } from './dead-letter.js';
export { TableWriter, type TableWriterOptions } from './table-writer.js';
export { PartitionProgress } from './partition-progress.js';
export { backoffMs } from './backoff.js';
