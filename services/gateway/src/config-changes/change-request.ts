import { PcxError, uuidv7 } from '@portcullis/common';
import { pb } from '@portcullis/proto';

/**
 * Change requests as the admin API takes and shows them (JSON), and as they travel on
 * portcullis.changes (ChangeRequest protobuf, config_change.proto). Validation names the
 * bad field in a PCX_BAD_REQUEST, so a person filing one by hand or by CLI can fix it.
 */
export type ChangeKindName = 'GATEWAY_CONFIG' | 'AGENT_MANIFEST';
export type ChangeStatusName = 'APPROVED' | 'REVOKED';

export interface ChangeRequestView {
  changeId: string;
  title: string;
  requestedBy: string;
  approvedBy: string;
  scope: string;
  kind: ChangeKindName;
  expected: { digest: string; endpoints: string[]; env: Array<{ name: string; valueSha256: string }>; sections: string[] };
  windowStart: number;
  windowEnd: number;
  createdAt: number;
  status: ChangeStatusName;
  revokedAt: number;
  revokedBy: string;
  environment: string;
}

type ChangeRequestMessage = ReturnType<typeof pb.ChangeRequest.decode>;

const KINDS: Record<string, ChangeKindName> = { gateway_config: 'GATEWAY_CONFIG', 'gateway-config': 'GATEWAY_CONFIG', agent_manifest: 'AGENT_MANIFEST', 'agent-manifest': 'AGENT_MANIFEST' };
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_ITEMS = 256;
const MAX_TEXT = 512;
const ALLOWED_KEYS = new Set(['changeId', 'title', 'requestedBy', 'scope', 'kind', 'expected', 'windowStart', 'windowEnd', 'environment']);
const EXPECTED_KEYS = new Set(['digest', 'endpoints', 'env', 'sections']);

function bad(field: string, message: string): PcxError {
  return new PcxError('PCX_BAD_REQUEST', `${field}: ${message}`, { field });
}

function text(body: Record<string, unknown>, field: string, opts: { required?: boolean; max?: number } = {}): string {
  const v = body[field];
  if (v === undefined || v === null || v === '') {
    if (opts.required) throw bad(field, 'is required');
    return '';
  }
  if (typeof v !== 'string') throw bad(field, 'must be a string');
  if (v.length > (opts.max ?? MAX_TEXT)) throw bad(field, `is longer than ${opts.max ?? MAX_TEXT} characters`);
  if (v.trim() !== v || /[\u0000-\u001f]/.test(v)) throw bad(field, 'has leading/trailing spaces or control characters');
  return v;
}

/** ms since epoch, or an ISO 8601 date-time. */
function time(body: Record<string, unknown>, field: string): number {
  const v = body[field];
  if (v === undefined || v === null || v === '') throw bad(field, 'is required (ms since epoch or ISO 8601)');
  const ms = typeof v === 'number' ? v : typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) ? Date.parse(v) : NaN;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw bad(field, 'must be ms since epoch or an ISO 8601 date-time');
  return ms;
}

function list(x: Record<string, unknown>, field: string, path: string): unknown[] {
  const v = x[field];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad(path, 'must be an array');
  if (v.length > MAX_ITEMS) throw bad(path, `has more than ${MAX_ITEMS} items`);
  return v;
}

function item(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw bad(path, 'must be a non-empty string');
  if (v.length > MAX_TEXT || /[\u0000-\u001f]/.test(v)) throw bad(path, `must be printable and at most ${MAX_TEXT} characters`);
  return v;
}

/**
 * Validates a POST /changes body into the record to publish. `now` is the gateway's
 * clock: the window must still be open (a window that closed approves nothing) and no
 * longer than maxWindowMs.
 */
export function parseChangeRequestBody(body: Record<string, unknown>, who: { subject: string }, opts: { now: number; maxWindowMs: number; environment: string }): ChangeRequestView {
  for (const k of Object.keys(body)) if (!ALLOWED_KEYS.has(k)) throw bad(k, 'is not a change request field');
  const changeId = text(body, 'changeId', { max: 128 }) || uuidv7(opts.now);
  if (!ID.test(changeId)) throw bad('changeId', 'must be letters, digits, . _ : - (up to 128)');
  const title = text(body, 'title', { required: true, max: 200 });
  const scope = text(body, 'scope', { required: true, max: 256 });
  if (scope.includes('*') && !(scope === '*' || (scope.endsWith('*') && !scope.slice(0, -1).includes('*')))) throw bad('scope', 'a `*` may only end it (a prefix) or be all of it');
  const kindRaw = body['kind'];
  if (kindRaw === undefined || kindRaw === '') throw bad('kind', 'is required (GATEWAY_CONFIG or AGENT_MANIFEST)');
  const kind = typeof kindRaw === 'string' ? KINDS[kindRaw.toLowerCase()] : undefined;
  if (!kind) throw bad('kind', 'must be GATEWAY_CONFIG or AGENT_MANIFEST');

  const x = body['expected'];
  if (x === undefined || x === null) throw bad('expected', 'is required: a digest, endpoints, env or sections');
  if (typeof x !== 'object' || Array.isArray(x)) throw bad('expected', 'must be an object');
  const xo = x as Record<string, unknown>;
  for (const k of Object.keys(xo)) if (!EXPECTED_KEYS.has(k)) throw bad(`expected.${k}`, 'is not an expected field (digest, endpoints, env, sections)');
  const digestRaw = xo['digest'] ?? '';
  if (typeof digestRaw !== 'string' || digestRaw.length > 128 || /[^A-Za-z0-9:._-]/.test(digestRaw)) throw bad('expected.digest', 'must be a digest (letters, digits, : . _ -, up to 128)');
  const digest = digestRaw;
  const endpoints = list(xo, 'endpoints', 'expected.endpoints').map((v, i) => item(v, `expected.endpoints[${i}]`));
  const sections = list(xo, 'sections', 'expected.sections').map((v, i) => item(v, `expected.sections[${i}]`));
  const env = list(xo, 'env', 'expected.env').map((v, i) => {
    const path = `expected.env[${i}]`;
    // "NAME" or "NAME:sha256" as shorthand for {name, valueSha256}.
    const o = typeof v === 'string' ? { name: v.split(':')[0], valueSha256: v.includes(':') ? v.slice(v.indexOf(':') + 1) : '' } : v;
    if (o === null || typeof o !== 'object' || Array.isArray(o)) throw bad(path, 'must be "NAME", "NAME:sha256" or {name, valueSha256}');
    const e = o as Record<string, unknown>;
    const name = item(e['name'], `${path}.name`);
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) throw bad(`${path}.name`, 'is not a variable name');
    const sha = e['valueSha256'] ?? '';
    if (typeof sha !== 'string' || (sha !== '' && !SHA256_HEX.test(sha.toLowerCase()))) throw bad(`${path}.valueSha256`, 'must be 64 hex digits (the sha256 of the value, never the value)');
    return { name, valueSha256: sha.toLowerCase() };
  });
  if (kind === 'GATEWAY_CONFIG' && (endpoints.length > 0 || env.length > 0)) throw bad('expected', 'a GATEWAY_CONFIG change names a digest or sections, not endpoints or env');
  if (kind === 'AGENT_MANIFEST' && sections.length > 0) throw bad('expected.sections', 'an AGENT_MANIFEST change names a digest, endpoints or env, not sections');
  if (!digest && endpoints.length === 0 && env.length === 0 && sections.length === 0) throw bad('expected', 'names nothing: give a digest, endpoints, env or sections');

  const windowStart = time(body, 'windowStart');
  const windowEnd = time(body, 'windowEnd');
  if (windowEnd <= windowStart) throw bad('windowEnd', 'must be after windowStart');
  if (windowEnd <= opts.now) throw bad('windowEnd', 'is in the past: the window has already closed');
  if (windowEnd - windowStart > opts.maxWindowMs) throw bad('windowEnd', `the window is longer than ${opts.maxWindowMs} ms (gateway.changes.maxWindowMs)`);
  const environment = text(body, 'environment', { max: 64 }) || opts.environment;

  return {
    changeId,
    title,
    requestedBy: text(body, 'requestedBy', { max: 256 }) || who.subject,
    approvedBy: who.subject,
    scope,
    kind,
    expected: { digest, endpoints, env, sections },
    windowStart,
    windowEnd,
    createdAt: opts.now,
    status: 'APPROVED',
    revokedAt: 0,
    revokedBy: '',
    environment,
  };
}

export function encodeChangeRequest(v: ChangeRequestView): Buffer {
  const w = pb.ChangeRequest.encode({
    ...v,
    kind: v.kind === 'GATEWAY_CONFIG' ? pb.ChangeKind.GATEWAY_CONFIG : pb.ChangeKind.AGENT_MANIFEST,
    status: v.status === 'REVOKED' ? pb.ChangeStatus.CHANGE_REVOKED : pb.ChangeStatus.CHANGE_APPROVED,
  }).finish();
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

/** A record from the topic as the API shows it; throws on one that is not a change request. */
export function decodeChangeRequest(b: Buffer): ChangeRequestView {
  const m: ChangeRequestMessage = pb.ChangeRequest.decode(b);
  const kind = m.kind === pb.ChangeKind.GATEWAY_CONFIG ? 'GATEWAY_CONFIG' : m.kind === pb.ChangeKind.AGENT_MANIFEST ? 'AGENT_MANIFEST' : undefined;
  if (!m.changeId || !kind) throw new Error('not a change request');
  return {
    changeId: m.changeId,
    title: m.title,
    requestedBy: m.requestedBy,
    approvedBy: m.approvedBy,
    scope: m.scope,
    kind,
    expected: {
      digest: m.expected?.digest ?? '',
      endpoints: [...(m.expected?.endpoints ?? [])],
      env: (m.expected?.env ?? []).map((e) => ({ name: e.name ?? '', valueSha256: e.valueSha256 ?? '' })),
      sections: [...(m.expected?.sections ?? [])],
    },
    windowStart: Number(m.windowStart),
    windowEnd: Number(m.windowEnd),
    createdAt: Number(m.createdAt),
    status: m.status === pb.ChangeStatus.CHANGE_REVOKED ? 'REVOKED' : 'APPROVED',
    revokedAt: Number(m.revokedAt),
    revokedBy: m.revokedBy,
    environment: m.environment,
  };
}
