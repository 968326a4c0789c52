import { describe, it, expect } from 'vitest';
import { parseConfig } from '@portcullis/common';
import { embeddedConfig, DEMO_CONNECTION, DEMO_SUBJECT, DEMO_TOKEN_ID, DEMO_URL_ENV } from '../src/embedded/embedded-config.js';
import { generateToken, tokenSha256 } from '../src/embedded/demo-token.js';

describe('embeddedConfig', () => {
  it('adds the demo connection by reference, its token digest and a write grant', () => {
    const token = generateToken();
    const c = embeddedConfig(parseConfig({}), { stateDir: '/s', grpcPort: 0, adminPort: 0, demo: { tokenSha256: tokenSha256(token), poolMax: 4 } });
    const conn = c.gateway.connections.find((x) => x.name === DEMO_CONNECTION);
    expect(conn?.url).toBe(`\${env:${DEMO_URL_ENV}}`);
    expect(conn?.kind).toBe('postgres');
    expect(conn?.pool.max).toBe(4);
    expect(conn?.grants).toEqual([{ subject: DEMO_SUBJECT, access: 'write' }]);
    const t = c.gateway.tokens.find((x) => x.id === DEMO_TOKEN_ID);
    expect(t).toMatchObject({ subject: 'agent:demo', kind: 'agent', sha256: tokenSha256(token) });
    expect(JSON.stringify(c)).not.toContain(token);
    expect(c.gateway.grpc).toEqual({ host: '127.0.0.1', port: 0 });
    expect(c.gateway.admin.port).toBe(0);
  });

  it('puts the store and spool under the state dir and forces the in-process bus', () => {
    const c = embeddedConfig(parseConfig({ bus: { kind: 'kafka' } }), { stateDir: '/state' });
    expect(c.bus.kind).toBe('memory');
    expect(c.store.path).toBe('/state/chdb');
    expect(c.store.url).toBeUndefined();
    expect(c.gateway.spool.dir).toBe('/state/spool');
    expect(c.gateway.grpc.port).toBe(7443);
    expect(c.gateway.admin.port).toBe(7080);
    expect(c.gateway.connections).toEqual([]);
  });

  it('keeps explicit store and spool paths', () => {
    const c = embeddedConfig(parseConfig({ store: { path: '/elsewhere/ch' }, gateway: { spool: { dir: '/sp' } } }), { stateDir: '/state' });
    expect(c.store.path).toBe('/elsewhere/ch');
    expect(c.gateway.spool.dir).toBe('/sp');
  });
});

describe('generateToken', () => {
  it('is pcx_ and 32 random bytes in base64url', () => {
    const a = generateToken();
    expect(a).toMatch(/^pcx_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a.slice(4), 'base64url')).toHaveLength(32);
    expect(generateToken()).not.toBe(a);
    expect(tokenSha256('x')).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  });
});
