import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { status } from '@grpc/grpc-js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsRegistry, parseConfig } from '@portcullis/common';
import { createMemoryBus, type Bus } from '@portcullis/bus';
import { IdentityKind } from '@portcullis/proto';
import { signingKey, signJwt, startIssuer, type LocalIssuer, type SigningKey } from '../../../test/support/oidc-idp.js';
import { createGateway, createGatewayClient, type Gateway } from '../src/index.js';
import { eventsOf, memoryLogger, uniqueName, denial } from './support/harness.js';

const AUD = 'portcullis-gw-it';
const EVENTS = uniqueName('id.events');
const SERVICE_TOKEN = `pcx_${randomBytes(32).toString('base64url')}`;
const spoolDir = mkdtempSync(join(tmpdir(), 'gw-id-spool-'));
const logs = memoryLogger();

let idp: LocalIssuer;
let key: SigningKey;
let attacker: SigningKey;
let bus: Bus;
let gateway: Gateway;

const exec = (token: string, command = 'select 1 as one') => {
  const c = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, token);
  return c.exec('main', command).finally(() => c.close());
};

beforeAll(async () => {
  [key, attacker] = await Promise.all([signingKey('k1'), signingKey('k1')]);
  idp = await startIssuer([key]);
  bus = createMemoryBus({ logger: logs.logger });
  const config = parseConfig({
    environment: 'itest',
    gateway: {
      grpc: { port: 0 },
      admin: { port: 0 },
      spool: { dir: spoolDir },
      identity: { oidc: [{ issuer: idp.issuer, audience: AUD, agentClientIds: ['planner-app'], groupsClaim: 'groups' }] },
      tokens: [{ id: 'svc-1', subject: 'svc:reporting', kind: 'service', sha256: createHash('sha256').update(SERVICE_TOKEN).digest('hex') }],
      connections: [
        {
          name: 'main',
          kind: 'postgres',
          url: '${env:PG}',
          grants: [
            { group: 'analysts', access: 'read' },
            { subject: 'agent:planner', access: 'read' },
            { subject: 'svc:reporting', access: 'read' },
          ],
        },
      ],
    },
  });
  gateway = createGateway({ config, env: { PG: 'postgres://postgres@127.0.0.1:5432/test' }, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS } });
  await gateway.start();
});

afterAll(async () => {
  await gateway?.close();
  await bus?.close();
  await idp?.close();
  rmSync(spoolDir, { recursive: true, force: true });
});

describe('OIDC identity through the gateway (real JWKS over HTTP)', () => {
  it('a valid JWT runs a query; its kind, groups and issuer land in the events', async () => {
    const jwt = await signJwt(key, { iss: idp.issuer, aud: AUD, sub: 'alice', azp: 'console', groups: ['analysts'] });
    const res = await exec(jwt);
    expect(res.rows?.[0]?.values).toEqual([{ number: 1 }]);
    const [req, resp] = await eventsOf(bus, EVENTS, res.requestId!);
    for (const e of [req, resp]) {
      expect(e?.identity).toMatchObject({ subject: 'alice', kind: IdentityKind.HUMAN, groups: ['analysts'], issuer: idp.issuer, credentialId: `jwt:${idp.issuer}#console/alice`, onBehalfOf: '' });
    }
  });

  it('an agent acting for a person (act claim): the agent is the subject, the person is on_behalf_of', async () => {
    const jwt = await signJwt(key, { iss: idp.issuer, aud: AUD, sub: 'bob', azp: 'planner-app', act: { sub: 'agent:planner' } });
    const res = await exec(jwt);
    const [req] = await eventsOf(bus, EVENTS, res.requestId!, 1);
    expect(req?.identity).toMatchObject({ subject: 'agent:planner', kind: IdentityKind.AGENT, onBehalfOf: 'bob' });
  });

  it('an expired JWT → UNAUTHENTICATED PCX_AUTH_EXPIRED', async () => {
    const past = Math.floor(Date.now() / 1000) - 7200;
    const jwt = await signJwt(key, { iss: idp.issuer, aud: AUD, sub: 'alice', groups: ['analysts'] }, { iat: past, exp: past + 60 });
    const e = await denial(exec(jwt));
    expect(e.code).toBe('PCX_AUTH_EXPIRED');
    expect(e.context['grpcStatus']).toBe(status.UNAUTHENTICATED);
  });

  it('a forged JWT (same kid, another key) → UNAUTHENTICATED PCX_AUTH_INVALID, and the token is nowhere in the answer', async () => {
    const jwt = await signJwt(attacker, { iss: idp.issuer, aud: AUD, sub: 'alice', groups: ['analysts'] });
    const e = await denial(exec(jwt));
    expect(e.code).toBe('PCX_AUTH_INVALID');
    expect(e.context['grpcStatus']).toBe(status.UNAUTHENTICATED);
    expect(e.message).not.toContain(jwt.split('.')[2]);
  });

  it('a valid JWT without a grant sees no connections; a grant by group does', async () => {
    const nobody = await signJwt(key, { iss: idp.issuer, aud: AUD, sub: 'mallory' });
    expect((await denial(exec(nobody))).code).toBe('PCX_CONNECTION_UNKNOWN');
    const c = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, nobody);
    expect((await c.listConnections()).connections ?? []).toEqual([]);
    c.close();
    const analyst = createGatewayClient(`127.0.0.1:${gateway.grpcPort}`, await signJwt(key, { iss: idp.issuer, aud: AUD, sub: 'carol', groups: ['analysts'] }));
    expect((await analyst.listConnections()).connections).toEqual([{ name: 'main', kind: 'postgres', access: 'read' }]);
    analyst.close();
  });

  it('service tokens keep working beside OIDC; an unprefixed bearer is refused', async () => {
    const res = await exec(SERVICE_TOKEN);
    const [req] = await eventsOf(bus, EVENTS, res.requestId!, 1);
    expect(req?.identity).toMatchObject({ subject: 'svc:reporting', kind: IdentityKind.SERVICE, credentialId: 'svc-1', issuer: 'portcullis:service-token' });
    expect((await denial(exec(SERVICE_TOKEN.slice(4)))).code).toBe('PCX_AUTH_INVALID');
  });

  it('a bad OIDC entry fails the start and names the key', async () => {
    const config = parseConfig({ gateway: { grpc: { port: 0 }, admin: { port: 0 }, spool: { dir: spoolDir }, identity: { oidc: [{ issuer: idp.issuer, audience: AUD, allowedAlgs: ['HS256'] }] } } });
    const gw = createGateway({ config, env: {}, bus, logger: logs.logger, metrics: new MetricsRegistry(), topics: { events: EVENTS } });
    const e = await denial(gw.start());
    expect(e.code).toBe('PCX_CONFIG_INVALID');
    expect(e.message).toMatch(/^gateway\.identity\.oidc\.0\.allowedAlgs\.0: HS\* algorithms are never allowed/);
  });
});
