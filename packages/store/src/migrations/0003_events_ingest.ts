import type { Migration } from './types.js';

/**
 * Where the sink writes events: a Null table with the columns of `events` in plain
 * types (String for LowCardinality(String)), and a materialized view that moves each
 * inserted block into `events` unchanged. Parsing a text field straight into a
 * LowCardinality column costs the engine a dictionary insert per value — for the nine
 * such `events` columns, about a third of its insert CPU on the sink's batches; as
 * Strings they parse like any other field, and the view converts whole columns at once.
 * `events` and everything fed from it (sessions, agent_hourly, TTL, ReplacingMergeTree)
 * are unchanged, and so is what reads it; the Null table stores nothing. Insert
 * deduplication still applies to `events` (the block the view writes).
 *
 * A later migration that adds a column to `events` adds it here too, in the plain type;
 * the view's `SELECT *` carries it (insert-roundtrip.int.test.ts compares every column).
 */
export const m0003EventsIngest: Migration = {
  version: 3,
  name: 'events-ingest',
  statements: (db) => [
    `CREATE TABLE IF NOT EXISTS ${db}.events_ingest (
      event_id String,
      request_id String,
      session_id String,
      time DateTime64(3, 'UTC'),
      phase String,
      environment String,
      gateway_id String,
      subject String,
      identity_kind String,
      groups Array(String),
      credential_id String,
      issuer String,
      on_behalf_of String,
      peer_ip String,
      peer_port UInt32,
      declared_host String,
      container_id String,
      process String,
      user_agent String,
      agent_config_hash String,
      connection String,
      connection_kind String,
      target_host String,
      target_db String,
      command_text String,
      fingerprint String,
      statement_type String,
      tables Array(String),
      is_write Bool,
      has_where Bool,
      has_limit Bool,
      risk_tags Array(String),
      rows UInt64,
      bytes UInt64,
      duration_ms Float64,
      error_code String,
      pii Map(String, UInt32),
      masked_fields Array(String),
      destination String,
      action String,
      rule_id String,
      reason String,
      approval_id String,
      decision_id String,
      verdict_code String,
      payload String,
      payload_truncated Bool,
      manifest_present Bool DEFAULT false,
      manifest_config_hash String,
      manifest_endpoints Array(String),
      manifest_env_names Array(String),
      manifest_env_sha256 Array(String),
      manifest_env_secret Array(Bool),
      manifest_reported_at Int64,
      manifest_session_id String,
      config_present Bool DEFAULT false,
      config_gateway_id String,
      config_old_digest String,
      config_new_digest String,
      config_changed Array(String),
      config_section_names Array(String),
      config_section_digests Array(String)
    )
    ENGINE = Null`,

    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.events_ingest_mv TO ${db}.events AS
    SELECT * FROM ${db}.events_ingest`,
  ],
};
