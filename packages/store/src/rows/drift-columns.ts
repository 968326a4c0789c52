import { createHash } from 'node:crypto';
import type { IAccessEvent } from '@portcullis/proto';

/** The `events` columns of a MANIFEST event's AgentManifest (migration 2); empty on other events. */
export interface ManifestColumns {
  manifest_present: boolean;
  manifest_config_hash: string;
  manifest_endpoints: string[];
  /** Parallel to manifest_env_sha256 and manifest_env_secret. */
  manifest_env_names: string[];
  manifest_env_sha256: string[];
  manifest_env_secret: boolean[];
  /** The agent's clock, ms, as reported. */
  manifest_reported_at: number;
  manifest_session_id: string;
}

/** The `events` columns of a CONFIG event's ConfigChange (migration 2); empty on other events. */
export interface ConfigColumns {
  config_present: boolean;
  config_gateway_id: string;
  config_old_digest: string;
  config_new_digest: string;
  config_changed: string[];
  /** Parallel to config_section_digests. */
  config_section_names: string[];
  config_section_digests: string[];
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A manifest env value hash as stored: the lower-case hex sha256 the contract asks for,
 * or — when a producer put something else there, which could be the value itself — the
 * sha256 of what it sent. The gateway refuses such manifests; this is the store's own
 * guarantee that no value lands in ClickHouse. Hashing keeps equality (two reports
 * differ exactly when their stored hashes do), which is all config drift compares.
 */
export function storedValueHash(sha: string | null | undefined): string {
  const s = (sha ?? '').toLowerCase();
  if (s === '' || SHA256_HEX.test(s)) return s;
  return createHash('sha256').update(s).digest('hex');
}

export function manifestColumns(m: IAccessEvent['manifest']): ManifestColumns {
  const env = m?.env ?? [];
  return {
    manifest_present: m !== null && m !== undefined,
    manifest_config_hash: m?.agentConfigHash ?? '',
    manifest_endpoints: m?.endpoints ?? [],
    manifest_env_names: env.map((v) => v.name ?? ''),
    manifest_env_sha256: env.map((v) => storedValueHash(v.valueSha256)),
    manifest_env_secret: env.map((v) => v.secretBearing ?? false),
    manifest_reported_at: Number(m?.reportedAt ?? 0),
    manifest_session_id: m?.sessionId ?? '',
  };
}

export function configColumns(c: IAccessEvent['configChange']): ConfigColumns {
  const sections = c?.sections ?? [];
  return {
    config_present: c !== null && c !== undefined,
    config_gateway_id: c?.gatewayId ?? '',
    config_old_digest: c?.oldDigest ?? '',
    config_new_digest: c?.newDigest ?? '',
    config_changed: c?.changed ?? [],
    config_section_names: sections.map((s) => s.name ?? ''),
    config_section_digests: sections.map((s) => s.digest ?? ''),
  };
}
