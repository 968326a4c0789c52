import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PcxError } from '@portcullis/common';

/**
 * The embedded mode's state directory and the run files in it: demo.json (a live agent
 * token, an operator's SOC token and the demo database's URL) and store-api.json (the loopback store endpoint and
 * its token). Both are written 0600 via a temp file and rename — a reader never sees half
 * of one and an older file's laxer mode never survives — and removed on a clean shutdown,
 * when their tokens stop working.
 */
export const DEFAULT_STATE_DIR = './.portcullis';
export const DEMO_FILE = 'demo.json';

export interface DemoFile {
  /** host:port of the gateway's gRPC front end. */
  grpc: string;
  /** Base URL of the gateway's admin HTTP server. */
  admin: string;
  /** The demo agent's bearer token. */
  token: string;
  /** The connection the demo agent may use. */
  connection: string;
  /** An operator (SOC) token, group soc: lists and lifts block decisions through the admin API (`portcullis decisions`). */
  socToken?: string;
  /** For the operator's own psql; never handed to an agent through the gateway. */
  demoDatabaseUrl?: string;
}

/** The running instance's loopback store endpoint, for `portcullis query` and `alerts`. */
export interface StoreApiFile {
  url: string;
  token: string;
}

export const STORE_API_FILE = 'store-api.json';

export function resolveStateDir(flag: string | undefined, configured: string | undefined): string {
  return resolve(flag ?? configured ?? DEFAULT_STATE_DIR);
}

export function ensureStateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function demoFilePath(stateDir: string): string {
  return join(stateDir, DEMO_FILE);
}

/** Writes JSON readable by the owner only. */
export function writePrivateJson(path: string, value: unknown): string {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask cannot widen it, but be explicit
  renameSync(tmp, path);
  return path;
}

export function writeDemoFile(stateDir: string, demo: DemoFile): string {
  return writePrivateJson(demoFilePath(stateDir), demo);
}

export function writeStoreApiFile(stateDir: string, api: StoreApiFile): string {
  return writePrivateJson(join(stateDir, STORE_API_FILE), api);
}

/** Files that name a live token of this run: removed on a clean shutdown. */
export function removeRunFiles(stateDir: string): void {
  rmSync(demoFilePath(stateDir), { force: true });
  rmSync(join(stateDir, STORE_API_FILE), { force: true });
}

export function readStoreApiFile(stateDir: string): StoreApiFile | undefined {
  try {
    const o = JSON.parse(readFileSync(join(stateDir, STORE_API_FILE), 'utf8')) as Partial<StoreApiFile>;
    return typeof o.url === 'string' && typeof o.token === 'string' ? { url: o.url, token: o.token } : undefined;
  } catch {
    return undefined;
  }
}

/** The demo file of a running `portcullis start`, or undefined when there is none. */
export function readDemoFile(stateDir: string): DemoFile | undefined {
  const path = demoFilePath(stateDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new PcxError('PCX_CONFIG_INVALID', `${path}: not valid JSON`);
  }
  return parseDemoFile(raw, path);
}

export function parseDemoFile(raw: unknown, source: string): DemoFile {
  const o = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v === '') throw new PcxError('PCX_CONFIG_INVALID', `${source}: ${k} must be a non-empty string`);
    return v;
  };
  const demo: DemoFile = { grpc: str('grpc'), admin: str('admin'), token: str('token'), connection: str('connection') };
  if (typeof o.demoDatabaseUrl === 'string') demo.demoDatabaseUrl = o.demoDatabaseUrl;
  if (typeof o.socToken === 'string' && o.socToken !== '') demo.socToken = o.socToken;
  return demo;
}
