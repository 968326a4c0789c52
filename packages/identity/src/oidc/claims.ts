import type { JWTPayload } from 'jose';
import { authInvalid } from '../auth-error.js';
import { isIdentityKind, type Identity, type IdentityKind } from '../identity.js';

/**
 * From a verified claim set to an Identity. Pure: the signature, issuer, audience and
 * time checks have already passed.
 *
 * Delegation (RFC 8693 `act`): `sub` names the party on whose behalf the token was
 * issued (the person) and `act.sub` the party acting (the agent). The gateway enforces
 * grants on, records and detects against whoever issues the commands, so:
 *   Identity.subject    = act.sub (the agent)
 *   Identity.onBehalfOf = sub     (the person)
 * Without `act`, subject = sub and onBehalfOf is absent. A nested `act.act` records
 * earlier actors in a chain; only the current (outermost) actor is used.
 *
 * Kind, first rule that answers:
 *   1. the client (`azp`, else `client_id`) is listed in agentClientIds / serviceClientIds;
 *   2. the kind claim (read from the `act` object when delegated, since it describes the actor);
 *   3. a delegated token is an agent;
 *   4. defaultKind.
 *
 * Groups come from the token as issued: whoever minted a delegated token decided what
 * it carries.
 */
export interface ClaimMapping {
  readonly groupsClaim: string;
  readonly kindClaim: string;
  readonly agentClientIds: readonly string[];
  readonly serviceClientIds: readonly string[];
  readonly defaultKind: IdentityKind;
}

/**
 * A claim by name, or by dotted path into nested objects. The whole name is tried first
 * because some issuers use URLs as claim names (`https://example.com/groups`), dots included.
 */
export function claimAt(obj: Readonly<Record<string, unknown>>, path: string): unknown {
  if (Object.hasOwn(obj, path)) return obj[path];
  let cur: unknown = obj;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || Array.isArray(cur) || !Object.hasOwn(cur, part)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** An array of strings, or a single string; anything else contributes nothing. */
export function groupsFrom(v: unknown): string[] {
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (!Array.isArray(v)) return [];
  return [...new Set(v.filter((g): g is string => typeof g === 'string' && g !== ''))];
}

function nonEmptyString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function identityFromClaims(payload: JWTPayload, m: ClaimMapping): Identity {
  const issuer = nonEmptyString(payload.iss);
  const sub = nonEmptyString(payload.sub);
  if (issuer === undefined) throw authInvalid('token has no issuer (iss)');
  if (sub === undefined) throw authInvalid('token has no subject (sub)');

  let actor: Record<string, unknown> | undefined;
  if (payload['act'] !== undefined) {
    const act = payload['act'];
    if (typeof act !== 'object' || act === null || Array.isArray(act) || nonEmptyString((act as Record<string, unknown>)['sub']) === undefined) {
      throw authInvalid('act claim must be an object with a sub');
    }
    actor = act as Record<string, unknown>;
  }
  const subject = actor ? (actor['sub'] as string) : sub;
  const client = nonEmptyString(payload['azp']) ?? nonEmptyString(payload['client_id']);

  let kind: IdentityKind;
  if (client !== undefined && m.agentClientIds.includes(client)) kind = 'agent';
  else if (client !== undefined && m.serviceClientIds.includes(client)) kind = 'service';
  else {
    const declared = claimAt(actor ?? payload, m.kindClaim);
    if (declared !== undefined) {
      if (!isIdentityKind(declared)) throw authInvalid(`claim ${m.kindClaim} must be agent, human or service`);
      kind = declared;
    } else kind = actor ? 'agent' : m.defaultKind;
  }

  return Object.freeze({
    subject,
    kind,
    groups: Object.freeze(groupsFrom(claimAt(payload, m.groupsClaim))),
    credentialId: `jwt:${issuer}#${client ?? '-'}/${subject}`,
    issuer,
    ...(actor ? { onBehalfOf: sub } : {}),
    ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}),
  });
}
