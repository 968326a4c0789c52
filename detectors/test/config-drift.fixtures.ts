import { createHash } from 'node:crypto';
import { IdentityKind, Phase, pb, type IAccessEvent } from '@portcullis/proto';
import type { ConfigDriftSettings } from '../src/index.js';

export const T0 = Date.UTC(2025, 2, 3, 9, 0, 0);
export const HOUR = 3_600_000;
export const AGENT = 'agent:etl-nightly';

export const settings: ConfigDriftSettings = {
  block: true,
  blockTtlMs: 3_600_000,
  clockSkewMs: 60_000,
  maxKnownEndpoints: 64,
  baselineTtlMs: 90 * 86_400_000,
  secretNamePattern: '(SECRET|TOKEN|PASSW(OR)?D|API_?KEY)',
};

export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

export interface ManifestSpec {
  hash?: string;
  endpoints?: string[];
  env?: Array<{ name: string; value: string; secret?: boolean }>;
}

export const BASE_MANIFEST: Required<ManifestSpec> = {
  hash: 'cfg-1',
  endpoints: ['https://api.internal:443', 'postgres://warehouse:5432'],
  env: [
    { name: 'LOG_LEVEL', value: 'info' },
    { name: 'DB_PASSWORD', value: 'hunter2' },
    { name: 'UPSTREAM_CRED', value: 'opaque-1', secret: true },
  ],
};

let seq = 0;

export function manifestEvent(time: number, spec: ManifestSpec = {}, subject = AGENT): IAccessEvent {
  seq += 1;
  const m = { ...BASE_MANIFEST, ...spec };
  return {
    eventId: `evt-manifest-${seq}`,
    requestId: `req-${seq}`,
    sessionId: `sess-${seq}`,
    time,
    phase: Phase.MANIFEST,
    environment: 'dev',
    gatewayId: 'gw-1',
    identity: { subject, kind: IdentityKind.AGENT, credentialId: 'tok_etl', issuer: 'portcullis' },
    manifest: {
      agentConfigHash: m.hash,
      endpoints: m.endpoints,
      env: m.env.map((v) => ({ name: v.name, valueSha256: sha(v.value), secretBearing: v.secret ?? false })),
      reportedAt: time,
    },
  };
}

export function configEvent(time: number, digest: string, sections: Array<[string, string]>, gatewayId = 'gw-1'): IAccessEvent {
  seq += 1;
  return {
    eventId: `evt-config-${seq}`,
    requestId: `req-${seq}`,
    time,
    phase: Phase.CONFIG,
    environment: 'dev',
    gatewayId,
    configChange: { gatewayId, newDigest: digest, sections: sections.map(([name, d]) => ({ name, digest: d })) },
  };
}

export interface ChangeSpec {
  id: string;
  kind?: 'gateway' | 'agent';
  scope?: string;
  digest?: string;
  endpoints?: string[];
  env?: Array<{ name: string; valueSha256?: string }>;
  sections?: string[];
  from?: number;
  to?: number;
  createdAt?: number;
  status?: 'approved' | 'revoked';
  revokedAt?: number;
}

export function changeRequest(c: ChangeSpec): Buffer {
  return Buffer.from(
    pb.ChangeRequest.encode({
      changeId: c.id,
      title: `change ${c.id}`,
      requestedBy: 'dev@example.com',
      approvedBy: 'lead@example.com',
      scope: c.scope ?? AGENT,
      kind: c.kind === 'gateway' ? pb.ChangeKind.GATEWAY_CONFIG : pb.ChangeKind.AGENT_MANIFEST,
      expected: { digest: c.digest ?? '', endpoints: c.endpoints ?? [], env: (c.env ?? []).map((v) => ({ name: v.name, valueSha256: v.valueSha256 ?? '' })), sections: c.sections ?? [] },
      windowStart: c.from ?? T0,
      windowEnd: c.to ?? T0 + 48 * HOUR,
      createdAt: c.createdAt ?? T0,
      status: c.status === 'revoked' ? pb.ChangeStatus.CHANGE_REVOKED : pb.ChangeStatus.CHANGE_APPROVED,
      revokedAt: c.revokedAt ?? 0,
    }).finish(),
  );
}
