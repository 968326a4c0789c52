import type { CredentialOriginConfig } from '@portcullis/common';
import { Phase, type IAccessEvent } from '@portcullis/proto';
import { NO_FINDINGS, pureScore, type Finding, type ScoreResult, type Scorer, type SeverityName, type StateUpdate } from '../scorer.js';
import { isLegacyJson, Reader, Writer } from '../stats/codec.js';

/**
 * Credential origin: a credential that has always been used from the same few places
 * (peer IP, declared host, container) and suddenly shows up somewhere new is the
 * classic sign of a stolen token. Novelty alone is noisy — some credentials roam by
 * design (autoscaled workers, laptops) — so the surprise is weighted by the Good–Turing
 * estimate of how likely this credential is to show an unseen origin at all: n1/N, the
 * share of its uses that came from origins seen exactly once.
 */
export const CREDENTIAL_ORIGIN = 'credential-origin';

/** One remembered origin tuple with its event-time first/last sighting. */
export interface OriginEntry {
  readonly origin: string;
  first: number;
  last: number;
  count: number;
}

/**
 * Per-credential state. An array rather than a Map: a credential has a handful of
 * origins, and an array is cheaper to scan and copy (the runtime's rollback copy) and
 * smaller to hold.
 */
export interface CredentialOriginState {
  origins: OriginEntry[];
}

export type CredentialOriginSettings = Pick<
  CredentialOriginConfig,
  'maturityEvents' | 'maturityMs' | 'originTtlMs' | 'maxOriginsPerCredential' | 'alertScore' | 'block' | 'blockTtlMs'
>;

/** How many of the most-used known origins an alert quotes as evidence. */
const QUOTED_ORIGINS = 5;

export function createCredentialOriginScorer(config: CredentialOriginSettings): Scorer<CredentialOriginState> {
  const update = (state: CredentialOriginState, e: IAccessEvent): StateUpdate<CredentialOriginState> => updateCredentialOrigin(config, state, e);
  return {
    name: CREDENTIAL_ORIGIN,
    keyOf: (e) => {
      // Only a REQUEST counts (see updateCredentialOrigin): other phases have no entity to touch.
      if (e.phase !== Phase.REQUEST) return undefined;
      const id = e.identity?.credentialId;
      return id ? id : undefined;
    },
    init: () => ({ origins: [] }),
    update,
    clone: cloneCredentialOrigin,
    score: pureScore(cloneCredentialOrigin, update),
    evict: (state, now) => {
      const kept = expire(state.origins, now - config.originTtlMs);
      if (kept.length === 0) return undefined;
      return kept === state.origins ? state : { origins: kept };
    },
    sizeOf: sizeOfState,
    serialize: serializeState,
    deserialize: deserializeState,
  };
}

/** Entries copied: update() edits them in place. */
export function cloneCredentialOrigin(s: CredentialOriginState): CredentialOriginState {
  const origins = new Array<OriginEntry>(s.origins.length);
  for (let i = 0; i < origins.length; i++) {
    const o = s.origins[i] as OriginEntry;
    origins[i] = { origin: o.origin, first: o.first, last: o.last, count: o.count };
  }
  return { origins };
}

/** Binary (stats/codec.ts): origins as (tuple, first, last, count). */
function serializeState(s: CredentialOriginState): Buffer {
  const w = new Writer();
  w.uint(s.origins.length);
  for (const o of s.origins) w.str(o.origin).f64(o.first).f64(o.last).uint(o.count);
  return w.finish();
}

function deserializeState(b: Buffer): CredentialOriginState {
  if (isLegacyJson(b)) {
    const rows = JSON.parse(b.toString('utf8')) as Array<[string, number, number, number]>;
    return { origins: rows.map(([origin, first, last, count]) => ({ origin, first, last, count })) };
  }
  const r = new Reader(b);
  const n = r.uint();
  const origins: OriginEntry[] = [];
  for (let i = 0; i < n; i++) origins.push({ origin: r.str(), first: r.f64(), last: r.f64(), count: r.uint() });
  r.end();
  return { origins };
}

/** The origin tuple; `|` and `%` are escaped so caller-declared fields cannot forge another tuple. */
export function originKey(e: IAccessEvent): string {
  const o = e.origin;
  return `${esc(o?.peerIp ?? '')}|${esc(o?.declaredHost ?? '')}|${esc(o?.containerId ?? '')}`;
}

function esc(s: string): string {
  return s.includes('|') || s.includes('%') ? s.replace(/%/g, '%25').replace(/\|/g, '%7C') : s;
}

/** The pure form of the credential-origin step (tests, tools): `state` is never modified. */
export function scoreCredentialOrigin(config: CredentialOriginSettings, state: CredentialOriginState, e: IAccessEvent): ScoreResult<CredentialOriginState> {
  const u = updateCredentialOrigin(config, cloneCredentialOrigin(state), e);
  return { state: u.changed ? u.state : state, findings: u.findings };
}

/** One REQUEST applied to `state` in place. */
export function updateCredentialOrigin(config: CredentialOriginSettings, state: CredentialOriginState, e: IAccessEvent): StateUpdate<CredentialOriginState> {
  // A RESPONSE repeats its REQUEST's origin; counting it would double every use.
  if (e.phase !== Phase.REQUEST) return { state, changed: false, findings: NO_FINDINGS };
  const credentialId = e.identity?.credentialId;
  if (!credentialId) return { state, changed: false, findings: NO_FINDINGS };
  const t = Number(e.time ?? 0);
  const origin = originKey(e);

  const live = expireInPlace(state.origins, t - config.originTtlMs);
  let uses = 0;
  let singletons = 0;
  let since = Infinity;
  let index = -1;
  for (let i = 0; i < live.length; i++) {
    const o = live[i] as OriginEntry;
    uses += o.count;
    if (o.count === 1) singletons += 1;
    if (o.first < since) since = o.first;
    if (o.origin === origin) index = i;
  }

  if (index >= 0) {
    const seen = live[index] as OriginEntry;
    seen.first = Math.min(seen.first, t);
    seen.last = Math.max(seen.last, t);
    seen.count += 1;
    return { state, changed: true, findings: NO_FINDINGS };
  }

  // Judged against the origins known before this one (the finding quotes them), then added.
  const mature = uses >= config.maturityEvents && t - since >= config.maturityMs;
  const finding = mature ? newOriginFinding(config, live, e, credentialId, t, uses, singletons, since) : undefined;
  live.push({ origin, first: t, last: t, count: 1 });
  if (live.length > config.maxOriginsPerCredential) evictLeastRecent(live);
  return { state, changed: true, findings: finding ? [finding] : NO_FINDINGS };
}

function newOriginFinding(config: CredentialOriginSettings, live: readonly OriginEntry[], e: IAccessEvent, credentialId: string, t: number, uses: number, singletons: number, since: number): Finding | undefined {
  // Good–Turing with add-one smoothing: the chance this credential's next use comes
  // from an origin it has not shown before. A credential that habitually roams has many
  // singletons, so a new origin is little surprise; one pinned to a single origin for
  // its whole baseline makes a new one nearly certain to be foreign.
  const pNew = (singletons + 1) / (uses + 2);
  const score = 1 - pNew;
  if (score < config.alertScore) return undefined;

  // Confidence grows with the evidence behind the baseline, not with the score.
  const confidence = uses / (uses + 10);
  const eventId = e.eventId ?? '';
  const [peerIp, declaredHost, containerId] = [e.origin?.peerIp ?? '', e.origin?.declaredHost ?? '', e.origin?.containerId ?? ''];
  const known = [...live].sort((a, b) => b.count - a.count || (a.origin < b.origin ? -1 : 1));
  const finding: Finding = {
    detector: CREDENTIAL_ORIGIN,
    key: credentialId,
    title: 'Credential used from a new origin',
    description:
      `Credential ${credentialId} was used from ${peerIp || '?'} (host ${declaredHost || '?'}, container ${containerId || '?'}), ` +
      `an origin not among the ${live.length} it showed over its last ${uses} uses.`,
    severity: severityOf(score),
    score,
    confidence,
    analytic: 'behavioral',
    subject: { kind: 'credential', value: credentialId },
    eventIds: eventId ? [eventId] : [],
    firstSeen: t,
    lastSeen: t,
    details: {
      credential_id: credentialId,
      origin: { peer_ip: peerIp, declared_host: declaredHost, container_id: containerId },
      known_origins: live.length,
      top_known_origins: known.slice(0, QUOTED_ORIGINS).map((o) => ({ origin: o.origin, count: o.count, first_seen: o.first, last_seen: o.last })),
      baseline_uses: uses,
      baseline_singletons: singletons,
      baseline_since: since,
      p_new_origin: pNew,
    },
  };
  if (config.block) {
    finding.block = {
      subject: { kind: 'credential', value: credentialId },
      ttlMs: config.blockTtlMs,
      reason: `credential-origin: used from a new origin (score ${score.toFixed(3)})`,
    };
  }
  return finding;
}

function severityOf(score: number): SeverityName {
  if (score >= 0.95) return 'high';
  if (score >= 0.75) return 'medium';
  return 'low';
}

/** Drops origins last seen before `cutoff`; returns the same array when none go. */
function expire(origins: OriginEntry[], cutoff: number): OriginEntry[] {
  for (const o of origins) if (o.last < cutoff) return origins.filter((x) => x.last >= cutoff);
  return origins;
}

/** expire() in place (order kept). */
function expireInPlace(origins: OriginEntry[], cutoff: number): OriginEntry[] {
  let k = 0;
  for (let i = 0; i < origins.length; i++) {
    const o = origins[i] as OriginEntry;
    if (o.last >= cutoff) origins[k++] = o;
  }
  origins.length = k;
  return origins;
}

/** Removes the least recently seen origin other than the newest (the last one), in place. */
function evictLeastRecent(origins: OriginEntry[]): void {
  let victim = 0;
  for (let i = 1; i < origins.length - 1; i++) {
    const o = origins[i] as OriginEntry;
    const v = origins[victim] as OriginEntry;
    if (o.last < v.last || (o.last === v.last && o.count < v.count)) victim = i;
  }
  origins.splice(victim, 1);
}

/**
 * Heap bytes, calibrated against V8's measured heap in detectors/bench (≈190 B per
 * credential for its map slot, key and arrays, ≈120 B plus the tuple's characters per
 * origin: the entry object, two boxed event times and the string).
 */
function sizeOfState(s: CredentialOriginState): number {
  let bytes = 190;
  for (const o of s.origins) bytes += 120 + o.origin.length;
  return bytes;
}
