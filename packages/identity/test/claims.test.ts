import { describe, expect, it } from 'vitest';
import { claimAt, groupsFrom, identityFromClaims, type ClaimMapping } from '../src/index.js';

const mapping: ClaimMapping = { groupsClaim: 'groups', kindClaim: 'pcx_kind', agentClientIds: ['agent-app'], serviceClientIds: ['batch-app'], defaultKind: 'human' };
const base = { iss: 'https://idp.example', sub: 'alice', exp: 2_000_000_000 };

describe('claimAt', () => {
  it('reads a top-level claim, a dotted path, and a claim whose name has dots', () => {
    const c = { groups: ['a'], realm_access: { roles: ['r1'] }, 'https://example.com/groups': ['url'] };
    expect(claimAt(c, 'groups')).toEqual(['a']);
    expect(claimAt(c, 'realm_access.roles')).toEqual(['r1']);
    expect(claimAt(c, 'https://example.com/groups')).toEqual(['url']);
    expect(claimAt(c, 'realm_access.missing')).toBeUndefined();
    expect(claimAt(c, 'groups.0')).toBeUndefined();
  });

  it('does not walk into the prototype', () => {
    expect(claimAt({}, 'constructor.name')).toBeUndefined();
    expect(claimAt({ a: {} }, 'a.__proto__')).toBeUndefined();
  });
});

describe('groupsFrom', () => {
  it('keeps strings, drops the rest, de-duplicates', () => {
    expect(groupsFrom(['a', 1, 'b', 'a', '', null])).toEqual(['a', 'b']);
    expect(groupsFrom('solo')).toEqual(['solo']);
    expect(groupsFrom({ a: 1 })).toEqual([]);
    expect(groupsFrom(undefined)).toEqual([]);
  });
});

describe('identityFromClaims', () => {
  it('maps a plain token: subject = sub, default kind, stable credential id', () => {
    expect(identityFromClaims({ ...base, azp: 'web', groups: ['g'] }, mapping)).toEqual({
      subject: 'alice',
      kind: 'human',
      groups: ['g'],
      credentialId: 'jwt:https://idp.example#web/alice',
      issuer: 'https://idp.example',
      expiresAt: 2_000_000_000_000,
    });
  });

  it('uses client_id when there is no azp, and "-" when neither is present', () => {
    expect(identityFromClaims({ ...base, client_id: 'cid' }, mapping).credentialId).toBe('jwt:https://idp.example#cid/alice');
    expect(identityFromClaims(base, mapping).credentialId).toBe('jwt:https://idp.example#-/alice');
  });

  it('decides kind: client lists first, then the kind claim, then act, then the default', () => {
    expect(identityFromClaims({ ...base, azp: 'agent-app', pcx_kind: 'human' }, mapping).kind).toBe('agent');
    expect(identityFromClaims({ ...base, azp: 'batch-app' }, mapping).kind).toBe('service');
    expect(identityFromClaims({ ...base, pcx_kind: 'service' }, mapping).kind).toBe('service');
    expect(identityFromClaims({ ...base, act: { sub: 'bot' } }, mapping).kind).toBe('agent');
    // With act, the kind claim is read from the actor, not from the person it acts for.
    expect(identityFromClaims({ ...base, pcx_kind: 'human', act: { sub: 'svc', pcx_kind: 'service' } }, mapping).kind).toBe('service');
    expect(identityFromClaims(base, { ...mapping, defaultKind: 'agent' }).kind).toBe('agent');
  });

  it('refuses an unknown kind value rather than guessing', () => {
    expect(() => identityFromClaims({ ...base, pcx_kind: 'admin' }, mapping)).toThrow(/pcx_kind must be agent, human or service/);
  });

  it('act: the actor is the subject, sub is onBehalfOf; nested earlier actors are ignored', () => {
    const id = identityFromClaims({ ...base, azp: 'agent-app', act: { sub: 'planner', act: { sub: 'older-hop' } } }, mapping);
    expect(id).toMatchObject({ subject: 'planner', onBehalfOf: 'alice', credentialId: 'jwt:https://idp.example#agent-app/planner' });
  });

  it('refuses a malformed act claim and a missing sub', () => {
    expect(() => identityFromClaims({ ...base, act: 'bot' }, mapping)).toThrow(/act claim must be an object with a sub/);
    expect(() => identityFromClaims({ ...base, act: {} }, mapping)).toThrow(/act claim/);
    expect(() => identityFromClaims({ iss: 'https://idp.example' }, mapping)).toThrow(/no subject/);
  });
});
