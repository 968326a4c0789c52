import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { ZodError } from 'zod';
import { PcxError } from '../errors.js';
import { configSchema, type PortcullisConfig } from './schema.js';

/** Names every bad key with its path, e.g. `gateway.connections.0.url: must be a reference …`. */
export function formatConfigIssues(err: ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Validates a parsed config object. Throws PCX_CONFIG_INVALID naming each bad key. */
export function parseConfig(raw: unknown, source = 'config'): PortcullisConfig {
  const r = configSchema.safeParse(raw ?? {});
  if (!r.success) throw new PcxError('PCX_CONFIG_INVALID', `${source}: ${formatConfigIssues(r.error)}`);
  return r.data;
}

/** Reads and validates a YAML (or JSON) config file. */
export function loadConfigFile(path: string): PortcullisConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PcxError('PCX_CONFIG_INVALID', `cannot read config file ${path}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (e) {
    throw new PcxError('PCX_CONFIG_INVALID', `${path}: not valid YAML: ${(e as Error).message}`);
  }
  return parseConfig(raw, path);
}
