import type { Migration } from './types.js';

/**
 * What config drift needs to be replayed from the store: the payloads of MANIFEST and
 * CONFIG events, and every record of portcullis.changes.
 *
 * Structured columns, not a String of protobuf JSON: an analyst asks "which agents ever
 * reported this endpoint" as `has(manifest_endpoints, …)` and "who carries DB_PASSWORD"
 * as `has(manifest_env_names, …)` without JSON functions, and a column holds only the
 * fields the mapper puts there — a field a newer producer adds to AgentManifest (say, a
 * raw value) has no column to land in. Env vars are three parallel arrays (name, value
 * sha256, secret-bearing; `ARRAY JOIN` them together) rather than a Nested or a tuple
 * array, which both take JSON input less uniformly across the server and chdb.
 *
 * `manifest_present` / `config_present` say the event carried the sub-message: rows
 * stored before this migration read as false, so a replay sees those MANIFEST/CONFIG
 * events without a payload (as it did before) instead of as an empty manifest, which
 * config drift would take for "every endpoint removed".
 */
export const m0002ConfigDrift: Migration = {
  version: 2,
  name: 'config-drift',
  statements: (db) => [
    `ALTER TABLE ${db}.events
      ADD COLUMN IF NOT EXISTS manifest_present Bool DEFAULT false,
      ADD COLUMN IF NOT EXISTS manifest_config_hash String,
      ADD COLUMN IF NOT EXISTS manifest_endpoints Array(String),
      ADD COLUMN IF NOT EXISTS manifest_env_names Array(String),
      ADD COLUMN IF NOT EXISTS manifest_env_sha256 Array(String),
      ADD COLUMN IF NOT EXISTS manifest_env_secret Array(Bool),
      -- The agent's own clock, as it reported it: untrusted, so ms as given, not a DateTime64.
      ADD COLUMN IF NOT EXISTS manifest_reported_at Int64,
      ADD COLUMN IF NOT EXISTS manifest_session_id String,
      ADD COLUMN IF NOT EXISTS config_present Bool DEFAULT false,
      ADD COLUMN IF NOT EXISTS config_gateway_id LowCardinality(String),
      ADD COLUMN IF NOT EXISTS config_old_digest String,
      ADD COLUMN IF NOT EXISTS config_new_digest String,
      ADD COLUMN IF NOT EXISTS config_changed Array(String),
      ADD COLUMN IF NOT EXISTS config_section_names Array(String),
      ADD COLUMN IF NOT EXISTS config_section_digests Array(String)`,

    // Every record of the compacted changes topic, tombstones (withdrawals) and records
    // that were not a ChangeRequest included, so a backtest folds the topic's history in
    // its order as the live view did, after compaction has dropped the older values. A
    // record is identified by key and topic position; the key (the change id the topic
    // is compacted by) leads, for "what happened to change X". The ChangeRequest's
    // fields are columns (expected env as parallel name/sha256 arrays); a record with
    // undecodable bytes is a row with `undecodable` set (the bytes go to the dead-letter
    // topic), because the live view drops the key's earlier approval on it.
    `CREATE TABLE IF NOT EXISTS ${db}.changes (
      change_key String,
      tombstone Bool,
      undecodable Bool,
      change_id String,
      title String,
      requested_by String,
      approved_by String,
      scope String,
      kind LowCardinality(String),
      status LowCardinality(String),
      environment LowCardinality(String),
      expected_digest String,
      expected_endpoints Array(String),
      expected_env_names Array(String),
      expected_env_sha256 Array(String),
      expected_sections Array(String),
      window_start DateTime64(3, 'UTC'),
      window_end DateTime64(3, 'UTC'),
      created_at DateTime64(3, 'UTC'),
      revoked_at DateTime64(3, 'UTC'),
      revoked_by String,
      recorded_at DateTime64(3, 'UTC'),
      kafka_topic LowCardinality(String),
      kafka_partition UInt32,
      kafka_offset UInt64
    )
    ENGINE = ReplacingMergeTree
    ORDER BY (change_key, kafka_topic, kafka_partition, kafka_offset)
    SETTINGS non_replicated_deduplication_window = 100`,
  ],
};
