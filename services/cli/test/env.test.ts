import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, expect, afterAll } from 'vitest';
import { PcxError } from '@portcullis/common';
import { cliEnvFrom } from '../src/env.js';
import { resolveGatewayTarget } from '../src/target.js';
import { readDemoFile, readStoreApiFile, removeRunFiles, resolveStateDir, writeDemoFile, writeStoreApiFile, type DemoFile } from '../src/state.js';
import { errorLine, exitCodeFor } from '../src/exit-codes.js';

const demo: DemoFile = { grpc: '127.0.0.1:7443', admin: 'http://127.0.0.1:7080', token: 'pcx_demo', connection: 'demo' };

describe('cliEnvFrom', () => {
  it('reads the three PORTCULLIS_ variables and treats blank as unset', () => {
    const env = cliEnvFrom({ PORTCULLIS_GATEWAY: ' 10.0.0.1:7443 ', PORTCULLIS_TOKEN: '', PORTCULLIS_CONFIG: 'c.yaml' });
    expect(env.gateway).toBe('10.0.0.1:7443');
    expect(env.token).toBeUndefined();
    expect(env.config).toBe('c.yaml');
  });
});

describe('resolveGatewayTarget', () => {
  const env = cliEnvFrom({ PORTCULLIS_GATEWAY: 'env-host:1', PORTCULLIS_TOKEN: 'env-token' });

  it('prefers flags, then the environment, then demo.json', () => {
    expect(resolveGatewayTarget({ gateway: 'flag:2', token: 'flag-token' }, env, () => demo)).toEqual({ address: 'flag:2', token: 'flag-token' });
    expect(resolveGatewayTarget({}, env, () => demo)).toEqual({ address: 'env-host:1', token: 'env-token' });
    expect(resolveGatewayTarget({ token: 'flag-token' }, cliEnvFrom({}), () => demo)).toEqual({ address: '127.0.0.1:7443', token: 'flag-token' });
  });

  it('does not read demo.json when flags and env suffice', () => {
    let read = false;
    resolveGatewayTarget({}, env, () => {
      read = true;
      return demo;
    });
    expect(read).toBe(false);
  });

  it('names what is missing', () => {
    expect(() => resolveGatewayTarget({}, cliEnvFrom({}), () => undefined)).toThrow(/no gateway address/);
    try {
      resolveGatewayTarget({ gateway: 'x:1' }, cliEnvFrom({}), () => undefined);
      expect.unreachable();
    } catch (e) {
      expect((e as PcxError).code).toBe('PCX_AUTH_MISSING');
    }
  });
});

describe('state files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pcx-state-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes demo.json and store-api.json 0600, reads them back, removes them', () => {
    writeFileSync(join(dir, 'demo.json'), '{}', { mode: 0o644 });
    writeDemoFile(dir, { ...demo, demoDatabaseUrl: 'postgres://postgres@127.0.0.1:1/postgres' });
    writeStoreApiFile(dir, { url: 'http://127.0.0.1:9', token: 't' });
    expect(statSync(join(dir, 'demo.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'store-api.json')).mode & 0o777).toBe(0o600);
    expect(readDemoFile(dir)).toEqual({ ...demo, demoDatabaseUrl: 'postgres://postgres@127.0.0.1:1/postgres' });
    expect(readStoreApiFile(dir)).toEqual({ url: 'http://127.0.0.1:9', token: 't' });
    removeRunFiles(dir);
    expect(readDemoFile(dir)).toBeUndefined();
    expect(readStoreApiFile(dir)).toBeUndefined();
  });

  it('refuses a demo.json without a token', () => {
    writeFileSync(join(dir, 'demo.json'), JSON.stringify({ ...demo, token: '' }));
    expect(() => readDemoFile(dir)).toThrow(/token/);
  });

  it('resolves the state dir from flag, then config', () => {
    expect(resolveStateDir('/a', '/b')).toBe('/a');
    expect(resolveStateDir(undefined, '/b')).toBe('/b');
    expect(resolveStateDir(undefined, undefined)).toMatch(/\.portcullis$/);
  });
});

describe('exit codes', () => {
  it('maps denials to 2 and other errors to 1, with a PCX line', () => {
    expect(exitCodeFor(new PcxError('PCX_AUTH_INVALID', 'bad'))).toBe(2);
    expect(exitCodeFor(new PcxError('PCX_GUARDRAIL_DENIED', 'no'))).toBe(2);
    expect(exitCodeFor(new PcxError('PCX_CONNECTION_UNKNOWN', 'no such'))).toBe(1);
    expect(exitCodeFor(new Error('boom'))).toBe(1);
    expect(errorLine(new PcxError('PCX_TARGET_ERROR', 'relation "x" does not exist'))).toBe('PCX_TARGET_ERROR: relation "x" does not exist');
    expect(errorLine(new Error('boom'))).toBe('PCX_INTERNAL: boom');
  });
});
