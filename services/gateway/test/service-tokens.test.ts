import { describe, it, expect } from 'vitest';
import { createHash } from 'node:crypto';
import { ServiceTokenAuthenticator } from '../src/identity/service-tokens.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('ServiceTokenAuthenticator', () => {
  const auth = new ServiceTokenAuthenticator(
    [
      { id: 'tok-a', subject: 'agent-a', kind: 'agent', groups: ['etl'], sha256: sha('alpha-token') },
      { id: 'tok-b', subject: 'svc-b', kind: 'service', groups: [], token: '${env:B_TOKEN}' },
    ],
    { B_TOKEN: 'bravo-token' },
  );

  it('accepts a token by its configured hash or by the hash of its resolved reference', () => {
    expect(auth.authenticate({ authorization: 'Bearer alpha-token' })).toEqual({ subject: 'agent-a', kind: 'agent', groups: ['etl'], credentialId: 'tok-a', issuer: 'portcullis:service-token' });
    expect(auth.authenticate({ authorization: 'bearer bravo-token' }).credentialId).toBe('tok-b');
  });

  it('missing → PCX_AUTH_MISSING, wrong → PCX_AUTH_INVALID', () => {
    expect(() => auth.authenticate({})).toThrow(expect.objectContaining({ code: 'PCX_AUTH_MISSING' }));
    expect(() => auth.authenticate({ authorization: 'Basic abc' })).toThrow(expect.objectContaining({ code: 'PCX_AUTH_MISSING' }));
    expect(() => auth.authenticate({ authorization: 'Bearer nope' })).toThrow(expect.objectContaining({ code: 'PCX_AUTH_INVALID' }));
  });

  it('fails at construction when a token reference cannot be resolved', () => {
    expect(() => new ServiceTokenAuthenticator([{ id: 'x', subject: 's', kind: 'agent', groups: [], token: '${env:NOPE}' }], {})).toThrow(expect.objectContaining({ code: 'PCX_CONFIG_INVALID' }));
  });
});
