import type { Migration } from './types.js';

/**
 * The first schema. Idempotency by id rests on ReplacingMergeTree: rows whose sorting
 * key is equal collapse to one at merge time, so every sorting key here ends in (or is
 * fully determined by) the row's id, and readers that need exact answers query with
 * FINAL (or argMax by version). Insert deduplication (non_replicated_deduplication_window)
 * only catches the sink re-sending an identical block after an ambiguous failure; it
 * is an optimisation, never the guarantee.
 */
export const m0001Init: Migration = {
  version: 1,
  name: 'init',
  statements: (db) => [
    `CREATE DATABASE IF NOT EXISTS ${db}`,

    // Every AccessEvent field, flattened. environment, connection, subject and time are
    // all fields of the event, so two copies of one event_id share the whole sorting key
    // and the same partition: they collapse. Enum-valued columns hold the enum names.
    `CREATE TABLE IF NOT EXISTS ${db}.events (
      event_id String,
      request_id String,
      session_id String,
      time DateTime64(3, 'UTC'),
      phase LowCardinality(String),
      environment LowCardinality(String),
      gateway_id LowCardinality(String),
      subject String,
      identity_kind LowCardinality(String),
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
      connection LowCardinality(String),
      connection_kind LowCardinality(String),
      target_host String,
      target_db String,
      command_text String,
      fingerprint String,
      statement_type LowCardinality(String),
      tables Array(String),
      is_write Bool,
      has_where Bool,
      has_limit Bool,
      risk_tags Array(LowCardinality(String)),
      rows UInt64,
      bytes UInt64,
      duration_ms Float64,
      error_code LowCardinality(String),
      pii Map(String, UInt32),
      masked_fields Array(String),
      destination String,
      action LowCardinality(String),
      rule_id String,
      reason String,
      approval_id String,
      decision_id String,
      verdict_code LowCardinality(String),
      payload String,
      payload_truncated Bool
    )
    ENGINE = ReplacingMergeTree
    PARTITION BY toYYYYMMDD(time)
    ORDER BY (environment, connection, subject, time, event_id)
    TTL toDateTime(time) + INTERVAL 90 DAY
    SETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 100`,

    // One row per alert id; a detector updating an alert re-emits it with a later
    // modified time, which is the version. No time partition: an alert's time may move
    // with updates and rows only collapse within one partition.
    `CREATE TABLE IF NOT EXISTS ${db}.alerts (
      alert_id String,
      time DateTime64(3, 'UTC'),
      updated_at DateTime64(3, 'UTC'),
      activity LowCardinality(String),
      severity_id UInt8,
      severity LowCardinality(String),
      title String,
      detector LowCardinality(String),
      analytic String,
      subject String,
      credential_id String,
      risk_score Float64,
      confidence Float64,
      status LowCardinality(String),
      evidence_event_ids Array(String),
      raw String
    )
    ENGINE = ReplacingMergeTree(updated_at)
    ORDER BY alert_id
    SETTINGS non_replicated_deduplication_window = 100`,

    // Every record of the compacted decisions topic, tombstones included (lifted = true),
    // so the history of blocks and lifts survives compaction. A record is identified by
    // its topic, partition and offset; subject comes from the record's key, so it too is
    // fixed per record and may lead the sorting key for lookups by subject.
    `CREATE TABLE IF NOT EXISTS ${db}.decisions (
      decision_id String,
      subject String,
      subject_kind LowCardinality(String),
      subject_value String,
      effect LowCardinality(String),
      reason String,
      source LowCardinality(String),
      alert_id String,
      created_at DateTime64(3, 'UTC'),
      expires_at Nullable(DateTime64(3, 'UTC')),
      environment LowCardinality(String),
      lifted Bool,
      recorded_at DateTime64(3, 'UTC'),
      kafka_topic LowCardinality(String),
      kafka_partition UInt32,
      kafka_offset UInt64
    )
    ENGINE = ReplacingMergeTree
    ORDER BY (subject, kafka_topic, kafka_partition, kafka_offset)
    SETTINGS non_replicated_deduplication_window = 100`,

    // Approvals arrive as JSON until their contract lands; the latest status per id wins.
    `CREATE TABLE IF NOT EXISTS ${db}.approvals (
      approval_id String,
      time DateTime64(3, 'UTC'),
      status LowCardinality(String),
      raw String
    )
    ENGINE = ReplacingMergeTree(time)
    ORDER BY approval_id
    SETTINGS non_replicated_deduplication_window = 100`,

    // Aggregates fed on insert. Materialized views see every inserted block, duplicates
    // included, so counts use uniqExact over ids (exact under redelivery) and min/max are
    // naturally idempotent; the rows/bytes sums can overcount after a redelivery (a crash
    // between an insert and its offset commit). The events table with FINAL is the exact
    // source; these tables are for dashboards.
    `CREATE TABLE IF NOT EXISTS ${db}.sessions (
      session_id String,
      environment LowCardinality(String),
      subject SimpleAggregateFunction(any, String),
      connection SimpleAggregateFunction(any, String),
      first_time SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
      last_time SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
      events AggregateFunction(uniqExact, String)
    )
    ENGINE = AggregatingMergeTree
    ORDER BY (environment, session_id)`,

    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.sessions_mv TO ${db}.sessions AS
    SELECT
      session_id,
      environment,
      any(subject) AS subject,
      any(connection) AS connection,
      min(time) AS first_time,
      max(time) AS last_time,
      uniqExactState(event_id) AS events
    FROM ${db}.events
    GROUP BY environment, session_id`,

    `CREATE TABLE IF NOT EXISTS ${db}.agent_hourly (
      environment LowCardinality(String),
      subject String,
      hour DateTime('UTC'),
      requests AggregateFunction(uniqExact, String),
      denials AggregateFunction(uniqExact, String),
      rows SimpleAggregateFunction(sum, UInt64),
      bytes SimpleAggregateFunction(sum, UInt64)
    )
    ENGINE = AggregatingMergeTree
    PARTITION BY toYYYYMM(hour)
    ORDER BY (environment, subject, hour)
    TTL hour + INTERVAL 400 DAY`,

    // A request counts once whichever of its events arrive; a denial is a request whose
    // verdict (on either phase) refused it.
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.agent_hourly_mv TO ${db}.agent_hourly AS
    SELECT
      environment,
      subject,
      toStartOfHour(time) AS hour,
      uniqExactState(request_id) AS requests,
      uniqExactStateIf(request_id, action IN ('DENY', 'BLOCKED_BY_DECISION')) AS denials,
      sumIf(rows, phase = 'RESPONSE') AS rows,
      sumIf(bytes, phase = 'RESPONSE') AS bytes
    FROM ${db}.events
    GROUP BY environment, subject, hour`,
  ],
};
