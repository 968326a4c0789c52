import { PcxError, isPcxError, uuidv7, type Logger } from '@portcullis/common';
import { detect } from '@portcullis/masking';
import { encodeEvent, IdentityKind, Phase, type IAccessEvent, type IGatewayServer, type pb } from '@portcullis/proto';
import type { EventPublisher } from '../events/publisher.js';
import { headersOf } from '../grpc/metadata.js';
import { toGrpcStatus } from '../grpc/status.js';
import type { Authenticator, Identity } from '../identity/authenticator.js';
import { originOf, type Origin } from '../origin/origin.js';

type AgentManifest = ReturnType<typeof pb.AgentManifest.decode>;

/** Bounds on one manifest; the config-drift detector keeps each agent's last one as its baseline. */
export const MANIFEST_LIMITS = { endpoints: 256, env: 512, text: 512 } as const;

const SHA256_HEX = /^[0-9a-f]{64}$/;
const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const IDENTITY_KIND = { agent: IdentityKind.AGENT, human: IdentityKind.HUMAN, service: IdentityKind.SERVICE } as const;

function bad(field: string, message: string): PcxError {
  return new PcxError('PCX_BAD_REQUEST', `${field}: ${message}`, { field });
}

/**
 * What in an endpoint must not travel on (events, store): user-info in a URL
 * (`postgres://app:pw@db`) or anything a masking detector recognises (a token in a path or
 * query). The field name is reported, never the value.
 */
function secretIn(endpoint: string): string | undefined {
  if (endpoint.includes('://')) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (url && (url.username || url.password)) return 'credentials (user-info)';
    // Unparseable but user-info shaped: scheme://anything@host.
    if (!url && /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(endpoint)) return 'credentials (user-info)';
  }
  const found = detect(endpoint);
  return found[0] ? `a sensitive value (${found[0].detector})` : undefined;
}

/** Checks a reported manifest; names the first bad field. Values are hashes only: a raw value is refused. */
export function validateManifest(m: AgentManifest): void {
  if ((m.agentConfigHash ?? '').length > 128) throw bad('agent_config_hash', 'is longer than 128 characters');
  const endpoints = m.endpoints ?? [];
  if (endpoints.length > MANIFEST_LIMITS.endpoints) throw bad('endpoints', `has more than ${MANIFEST_LIMITS.endpoints} entries`);
  endpoints.forEach((x, i) => {
    if (!x || x.length > MANIFEST_LIMITS.text || /[\u0000-\u001f\s]/.test(x)) throw bad(`endpoints[${i}]`, `must be a non-empty URL or host:port without spaces, at most ${MANIFEST_LIMITS.text} characters`);
    const secret = secretIn(x);
    if (secret) throw bad(`endpoints[${i}]`, `carries ${secret}; report the endpoint without it (scheme://host:port/path)`);
  });
  const env = m.env ?? [];
  if (env.length > MANIFEST_LIMITS.env) throw bad('env', `has more than ${MANIFEST_LIMITS.env} entries`);
  const seen = new Set<string>();
  env.forEach((v, i) => {
    if (!v.name || v.name.length > 256 || !VAR_NAME.test(v.name)) throw bad(`env[${i}].name`, 'is not a variable name');
    if (seen.has(v.name)) throw bad(`env[${i}].name`, `${v.name} is listed twice`);
    seen.add(v.name);
    if (!SHA256_HEX.test(v.valueSha256 ?? '')) throw bad(`env[${i}].value_sha256`, 'must be the lower-case hex sha256 of the value (never the value)');
  });
  if ((m.sessionId ?? '').length > 128) throw bad('session_id', 'is longer than 128 characters');
}

/** The MANIFEST AccessEvent, keyed by the agent's subject like every event of its commands. */
export function manifestEvent(opts: { manifest: AgentManifest; identity: Identity; origin: Origin; environment: string; gatewayId: string; sessionId: string; now: number }): IAccessEvent {
  const { identity: id, manifest: m } = opts;
  return {
    eventId: uuidv7(opts.now),
    requestId: uuidv7(opts.now),
    sessionId: opts.sessionId,
    time: opts.now,
    phase: Phase.MANIFEST,
    environment: opts.environment,
    gatewayId: opts.gatewayId,
    identity: { subject: id.subject, kind: IDENTITY_KIND[id.kind], groups: [...id.groups], credentialId: id.credentialId, issuer: id.issuer, onBehalfOf: id.onBehalfOf ?? '' },
    origin: { ...opts.origin, agentConfigHash: m.agentConfigHash || opts.origin.agentConfigHash },
    manifest: {
      agentConfigHash: m.agentConfigHash ?? '',
      endpoints: [...(m.endpoints ?? [])],
      env: (m.env ?? []).map((v) => ({ name: v.name ?? '', valueSha256: v.valueSha256 ?? '', secretBearing: v.secretBearing ?? false })),
      reportedAt: Number(m.reportedAt ?? 0),
      sessionId: opts.sessionId,
    },
  };
}

/**
 * Gateway.ReportManifest: the caller (its identity from the bearer token, as for Exec)
 * reports what it runs with; the gateway publishes it on portcullis.events for the
 * config-drift detector and answers once the broker has it (or it is spooled).
 */
export function reportManifestHandler(deps: {
  authenticator: Authenticator;
  publisher: EventPublisher;
  eventsTopic: string;
  environment: string;
  gatewayId: string;
  logger: Logger;
  now?: () => number;
}): IGatewayServer['reportManifest'] {
  const now = deps.now ?? Date.now;
  const report = async (manifest: AgentManifest, headers: ReturnType<typeof headersOf>, peer: string): Promise<{ eventId: string; sessionId: string }> => {
    const identity = await deps.authenticator.authenticate(headers);
    validateManifest(manifest);
    const sessionId = manifest.sessionId || uuidv7();
    const e = manifestEvent({ manifest, identity, origin: originOf(peer, headers), environment: deps.environment, gatewayId: deps.gatewayId, sessionId, now: now() });
    deps.publisher.publish(deps.eventsTopic, { key: identity.subject, value: encodeEvent(e), timestamp: Number(e.time) });
    deps.logger.info({ subject: identity.subject, session_id: sessionId, event_id: e.eventId, endpoints: e.manifest?.endpoints?.length ?? 0, env: e.manifest?.env?.length ?? 0 }, 'agent manifest reported');
    return { eventId: e.eventId ?? '', sessionId };
  };
  return (call, callback) => {
    report(call.request, headersOf(call.metadata), call.getPeer())
      .then((out) => callback(null, out))
      .catch((e: unknown) => {
        if (!isPcxError(e)) deps.logger.error({ err: e instanceof Error ? e.name : typeof e }, 'unexpected error in ReportManifest');
        callback(toGrpcStatus(e), null);
      });
  };
}
