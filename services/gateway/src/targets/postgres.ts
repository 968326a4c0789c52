import pg from 'pg';
import type { ConnectionConfig, Logger, Secret } from '@portcullis/common';
import type { ConnectionFacts } from '../events/event-builder.js';
import { commandTag, parserFor, PG_TYPE_NAMES } from './postgres-types.js';
import { targetError } from './postgres-errors.js';
import type { CancelSignal, ResultSet, ResultValue, RunOptions, Target } from './target.js';
import { urlFacts } from './url-facts.js';

/** Every cell arrives as text and is parsed by OID (see parserFor), so pg's own parsers never run. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number) => parserFor(oid)) as unknown as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * A Postgres connection through a pooled pg.Pool. The URL (with its credential) is
 * revealed only here, into the pool's config; everything that leaves — facts, errors,
 * logs — is built from urlFacts and scrubbed.
 */
export class PostgresTarget implements Target {
  readonly facts: ConnectionFacts;
  private readonly pool: pg.Pool;
  private readonly sensitive: readonly string[];
  private readonly typeNames = new Map<number, string>(PG_TYPE_NAMES);

  private readonly url: Secret;
  private readonly connectTimeoutMs: number;

  constructor(config: ConnectionConfig, url: Secret, logger: Logger) {
    this.url = url;
    this.connectTimeoutMs = config.pool.connectTimeoutMs;
    const facts = urlFacts(url.reveal());
    this.sensitive = facts.sensitive;
    this.facts = { name: config.name, kind: 'postgres', targetHost: config.display ?? facts.hostPort, targetDb: facts.database };
    this.pool = new pg.Pool({
      connectionString: url.reveal(),
      max: config.pool.max,
      idleTimeoutMillis: config.pool.idleMs,
      connectionTimeoutMillis: config.pool.connectTimeoutMs,
      // Sent in the startup packet, so every pooled session has it from its first query.
      statement_timeout: config.statementTimeoutMs,
      // A safety net for a target that stops answering without closing the socket.
      query_timeout: config.statementTimeoutMs + config.pool.connectTimeoutMs,
      application_name: 'portcullis-gateway',
      types: TYPES,
    });
    // An idle client losing its socket must not crash the process; pg drops it from the pool.
    this.pool.on('error', (e) => {
      const err = targetError(config.name, e, this.sensitive);
      logger.warn({ connection: config.name, code: err.code, reason: err.message }, 'idle target connection failed');
    });
  }

  async run(command: string, params: readonly ResultValue[], options: RunOptions): Promise<ResultSet> {
    let result: pg.QueryArrayResult | pg.QueryArrayResult[];
    try {
      result = options.signal ? await this.cancellableQuery(command, params, options.signal) : await this.pool.query({ text: command, values: [...params], rowMode: 'array' });
    } catch (e) {
      throw targetError(this.facts.name, e, this.sensitive);
    }
    // Several statements in one simple-protocol command: the caller sees the last result, as psql shows.
    const last = Array.isArray(result) ? result[result.length - 1] : result;
    if (!last) return { columns: [], rows: [], rowCount: 0, commandTag: '', rowsCapped: false };
    const fields = last.fields ?? [];
    const columns = [];
    // Known types answer from the map, without a microtask per column.
    for (const f of fields) columns.push({ name: f.name, type: this.typeNames.get(f.dataTypeID) ?? (await this.typeName(f.dataTypeID)) });
    const rowsCapped = last.rows.length > options.maxRows;
    const rows = (rowsCapped ? last.rows.slice(0, options.maxRows) : last.rows) as ResultValue[][];
    const rowCount = last.rowCount ?? last.rows.length;
    return { columns, rows, rowCount, commandTag: commandTag(last.command, last.rowCount), rowsCapped };
  }

  /**
   * The query on a client of its own, so that an abort can cancel exactly this statement:
   * pg_cancel_backend on the client's backend pid, from a short-lived connection (the pool
   * may be full); if that fails, the client is destroyed, which ends the query too.
   */
  private async cancellableQuery(command: string, params: readonly ResultValue[], signal: CancelSignal): Promise<pg.QueryArrayResult | pg.QueryArrayResult[]> {
    const client = await this.pool.connect();
    let released = false;
    // A client whose command was aborted is never reused: a cancel still on its way must not hit the next command on it.
    const release = (destroy: boolean): void => {
      if (released) return;
      released = true;
      client.release(destroy ? new Error('cancelled') : undefined);
    };
    const pid = (client as unknown as { processID: number | null }).processID;
    const onAbort = (): void => {
      this.cancelBackend(pid).catch(() => release(true));
    };
    try {
      if (signal.aborted) throw new Error('cancelled before it ran');
      signal.addEventListener('abort', onAbort, { once: true });
      return await client.query({ text: command, values: [...params], rowMode: 'array' });
    } finally {
      signal.removeEventListener('abort', onAbort);
      release(signal.aborted);
    }
  }

  private async cancelBackend(pid: number | null): Promise<void> {
    if (!pid) throw new Error('no backend pid');
    const c = new pg.Client({ connectionString: this.url.reveal(), connectionTimeoutMillis: this.connectTimeoutMs, application_name: 'portcullis-gateway-cancel' });
    c.on('error', () => undefined);
    try {
      await c.connect();
      const r = await c.query<{ ok: boolean }>('SELECT pg_cancel_backend($1) AS ok', [pid]);
      if (r.rows[0]?.ok !== true) throw new Error('backend not cancelled');
    } finally {
      await c.end().catch(() => undefined);
    }
  }

  /** Names user-defined types (enums, domains) from the catalog once, then from the cache. */
  private async typeName(oid: number): Promise<string> {
    const known = this.typeNames.get(oid);
    if (known) return known;
    let name = `oid:${oid}`;
    try {
      const r = await this.pool.query<{ typname: string }>('SELECT typname FROM pg_catalog.pg_type WHERE oid = $1', [oid]);
      name = r.rows[0]?.typname ?? name;
    } catch {
      // The name is cosmetic; the result is still good without it.
    }
    this.typeNames.set(oid, name);
    return name;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
