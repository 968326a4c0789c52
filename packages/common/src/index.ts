export * from './errors.js';
export * from './topics.js';
export * from './ids.js';
export * from './secret.js';
export * from './logger.js';
export * from './metrics.js';
export * from './config/schema.js';
export * from './config/load.js';
