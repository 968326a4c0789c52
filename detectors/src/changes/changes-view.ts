import { pb } from '@portcullis/proto';

/**
 * The approved change requests of portcullis.changes as the config-drift scorer reads
 * them: the compacted topic folded by key (latest value wins, a tombstone withdraws).
 * The runtime feeds it records (a side input, see src/scorer.ts); the scorer only asks
 * which requests are in force for a scope at an event time, so its answers depend on
 * the event, never on a clock.
 */
export type ChangeKindName = 'gateway-config' | 'agent-manifest';

export interface ApprovedChange {
  readonly changeId: string;
  readonly title: string;
  readonly kind: ChangeKindName;
  readonly scope: string;
  readonly approvedBy: string;
  /** Digest the change leads to (gateway config digest or agent_config_hash); empty = not pinned. */
  readonly digest: string;
  readonly endpoints: ReadonlySet<string>;
  /** Variable name → allowed value sha256s; an empty set allows any value. */
  readonly env: ReadonlyMap<string, ReadonlySet<string>>;
  /** Gateway config sections; a trailing `*` matches a prefix. */
  readonly sections: readonly string[];
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly createdAt: number;
  /** 0 unless revoked; a revoked request still covers events before this time. */
  readonly revokedAt: number;
  /** Empty = every environment. */
  readonly environment: string;
}

export interface ChangesViewStats {
  readonly requests: number;
  /** Records that could not be read as a valid change request, since the view was made. */
  readonly malformed: number;
  readonly lastError: string;
}

/** Bound on requests held; the ones whose window closed first go. */
const MAX_REQUESTS = 100_000;
/** Bounds on one request's expected lists (the gateway enforces smaller ones). */
const MAX_ITEMS = 4096;

export class ChangesView {
  private readonly byId = new Map<string, ApprovedChange>();
  private malformed = 0;
  private lastError = '';

  /**
   * Applies one record in topic order. Returns undefined, or why the record was ignored
   * (the runtime counts and logs it). A malformed record also removes whatever the key
   * held before: compaction keeps the latest value, and the latest one approves nothing.
   */
  apply(key: string, value: Buffer | null): string | undefined {
    if (value === null) {
      this.byId.delete(key);
      return undefined;
    }
    const parsed = parseChangeRequest(key, value);
    if (typeof parsed === 'string') {
      this.byId.delete(key);
      this.malformed += 1;
      this.lastError = parsed;
      return parsed;
    }
    this.byId.delete(key);
    this.byId.set(key, parsed);
    if (this.byId.size > MAX_REQUESTS) this.evictOldest();
    return undefined;
  }

  /**
   * The requests that approve a change of `kind` to `scope` happening at event time `t`:
   * approved (or revoked after t), t inside the window, filed no later than t + skewMs
   * (an approval filed after the change does not excuse it, which also keeps replays
   * deterministic), and for this environment.
   */
  inForce(kind: ChangeKindName, scope: string, t: number, environment: string, skewMs: number): ApprovedChange[] {
    const out: ApprovedChange[] = [];
    for (const c of this.byId.values()) {
      if (c.kind !== kind) continue;
      if (c.revokedAt > 0 && c.revokedAt <= t) continue;
      if (t < c.windowStart || t > c.windowEnd) continue;
      if (c.createdAt > t + skewMs) continue;
      if (c.environment && environment && c.environment !== environment) continue;
      if (!scopeMatches(c.scope, scope)) continue;
      out.push(c);
    }
    return out.sort((a, b) => (a.changeId < b.changeId ? -1 : a.changeId > b.changeId ? 1 : 0));
  }

  get(changeId: string): ApprovedChange | undefined {
    return this.byId.get(changeId);
  }

  stats(): ChangesViewStats {
    return { requests: this.byId.size, malformed: this.malformed, lastError: this.lastError };
  }

  private evictOldest(): void {
    let victim: ApprovedChange | undefined;
    for (const c of this.byId.values()) if (!victim || c.windowEnd < victim.windowEnd) victim = c;
    if (victim) this.byId.delete(victim.changeId);
  }
}

/** `*` matches all, `etl-*` a prefix, anything else itself. */
export function scopeMatches(pattern: string, scope: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return scope.startsWith(pattern.slice(0, -1));
  return pattern === scope;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A record's value as an approved change, or why it is not one. */
export function parseChangeRequest(key: string, value: Buffer): ApprovedChange | string {
  let m: ReturnType<typeof pb.ChangeRequest.decode>;
  try {
    m = pb.ChangeRequest.decode(value);
  } catch (e) {
    return `undecodable ChangeRequest: ${e instanceof Error ? e.message : String(e)}`;
  }
  const changeId = m.changeId;
  if (!changeId) return 'change_id is empty';
  if (changeId !== key) return `change_id ${JSON.stringify(changeId)} does not match the record key`;
  const kind = m.kind === pb.ChangeKind.GATEWAY_CONFIG ? 'gateway-config' : m.kind === pb.ChangeKind.AGENT_MANIFEST ? 'agent-manifest' : undefined;
  if (!kind) return `kind ${m.kind} is not GATEWAY_CONFIG or AGENT_MANIFEST`;
  if (!m.scope) return 'scope is empty';
  if (m.status !== pb.ChangeStatus.CHANGE_APPROVED && m.status !== pb.ChangeStatus.CHANGE_REVOKED) return `status ${m.status} is not APPROVED or REVOKED`;
  const windowStart = Number(m.windowStart);
  const windowEnd = Number(m.windowEnd);
  if (!(windowStart > 0) || !(windowEnd > 0)) return 'window_start and window_end are required';
  if (windowEnd < windowStart) return 'window_end is before window_start';
  const createdAt = Number(m.createdAt);
  if (!(createdAt > 0)) return 'created_at is required';
  const revokedAt = m.status === pb.ChangeStatus.CHANGE_REVOKED ? Number(m.revokedAt) || createdAt : 0;
  const x = m.expected;
  const endpoints = x?.endpoints ?? [];
  const env = x?.env ?? [];
  const sections = x?.sections ?? [];
  if (!x || (!x.digest && endpoints.length === 0 && env.length === 0 && sections.length === 0)) return 'expected names nothing (no digest, endpoints, env or sections)';
  if (endpoints.length > MAX_ITEMS || env.length > MAX_ITEMS || sections.length > MAX_ITEMS) return `expected lists more than ${MAX_ITEMS} items`;
  const envMap = new Map<string, Set<string>>();
  for (const v of env) {
    if (!v.name) return 'expected.env has an entry without a name';
    const sha = (v.valueSha256 ?? '').toLowerCase();
    if (sha && !SHA256_HEX.test(sha)) return `expected.env ${v.name}: value_sha256 is not 64 hex digits`;
    const prev = envMap.get(v.name);
    // An entry without a hash allows any value (the empty set), and wins over pinned ones.
    if (!sha) envMap.set(v.name, new Set());
    else if (!prev) envMap.set(v.name, new Set([sha]));
    else if (prev.size > 0) prev.add(sha);
  }
  return {
    changeId,
    title: m.title,
    kind,
    scope: m.scope,
    approvedBy: m.approvedBy,
    digest: x.digest ?? '',
    endpoints: new Set(endpoints),
    env: envMap,
    sections: [...sections],
    windowStart,
    windowEnd,
    createdAt,
    revokedAt,
    environment: m.environment,
  };
}
