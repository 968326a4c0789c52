import { join, resolve } from 'node:path';
import { loadConfigFile, parseConfig, storeSchema, type PortcullisConfig } from '@portcullis/common';
import type { CliEnv } from './env.js';

/** The config file from --config, else PORTCULLIS_CONFIG, else the built-in defaults (validated either way). */
export function loadCliConfig(flag: string | undefined, env: CliEnv): { config: PortcullisConfig; source: string | undefined } {
  const path = flag ?? env.config;
  if (path === undefined) return { config: parseConfig({}, 'defaults'), source: undefined };
  return { config: loadConfigFile(path), source: path };
}

const DEFAULT_STORE_PATH = storeSchema.parse({}).path;

/**
 * Where the embedded store lives: <state>/chdb, unless the config names another path.
 * Keeping it under the state directory is what lets --state-dir give a test (or a second
 * demo) a store of its own.
 */
export function embeddedStorePath(config: PortcullisConfig, stateDir: string): string {
  return config.store.path !== DEFAULT_STORE_PATH ? resolve(config.store.path) : join(stateDir, 'chdb');
}
