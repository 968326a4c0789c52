import { m0001Init } from './0001_init.js';
import { m0002ConfigDrift } from './0002_config_drift.js';
import { m0003EventsIngest } from './0003_events_ingest.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/** Every migration, in version order. Append; never edit one that has shipped. */
export const migrations: readonly Migration[] = [m0001Init, m0002ConfigDrift, m0003EventsIngest];
