import { describe, it, expect } from 'vitest';
import { encodeEvent, Phase, type IAccessEvent } from '@portcullis/proto';
import { ChangesView, createConfigDriftScorer, DetectorCore, peekPhase, toDetectionFinding, type ConfigDriftScorer, type ConfigDriftState, type Finding } from '../src/index.js';
import { AGENT, BASE_MANIFEST, changeRequest, configEvent, HOUR, manifestEvent, settings, sha, T0, type ChangeSpec } from './config-drift.fixtures.js';

const NEW_ENDPOINT = 'https://paste.example.net:443';

function scorerWith(...changes: ChangeSpec[]): ConfigDriftScorer {
  const scorer = createConfigDriftScorer(settings, { changesTopic: 'test.changes' });
  for (const c of changes) expect(scorer.changes.apply(c.id, changeRequest(c))).toBeUndefined();
  return scorer;
}

function run(scorer: ConfigDriftScorer, events: IAccessEvent[], state: ConfigDriftState = scorer.init()): { state: ConfigDriftState; findings: Finding[] } {
  const findings: Finding[] = [];
  for (const e of events) {
    const r = scorer.score(state, e);
    state = r.state;
    findings.push(...r.findings);
  }
  return { state, findings };
}

const withEndpoint = (time: number) => manifestEvent(time, { endpoints: [...BASE_MANIFEST.endpoints, NEW_ENDPOINT] });
const withEnv = (time: number, name: string, value: string) =>
  manifestEvent(time, { env: BASE_MANIFEST.env.map((v) => (v.name === name ? { ...v, value } : v)) });

describe('config-drift scorer: agent manifests', () => {
  it('takes the first manifest as the baseline and is silent on a benign re-report (same state object)', () => {
    const scorer = scorerWith();
    const first = run(scorer, [manifestEvent(T0)]);
    expect(first.findings).toEqual([]);
    expect(first.state.kind).toBe('agent');
    const again = scorer.score(first.state, manifestEvent(T0 + HOUR));
    expect(again.findings).toEqual([]);
    expect(again.state).toBe(first.state);
  });

  it('ignores events that are not manifests or gateway configs', () => {
    const scorer = scorerWith();
    const e = { ...manifestEvent(T0), phase: Phase.REQUEST };
    expect(scorer.keyOf(e)).toBeUndefined();
    expect(scorer.keyOf(manifestEvent(T0))).toBe(AGENT);
  });

  it('a never-seen endpoint without a change request is critical and blocks the agent', () => {
    const scorer = scorerWith();
    const late = withEndpoint(T0 + 2 * HOUR);
    const { findings } = run(scorer, [manifestEvent(T0), late]);
    expect(findings).toHaveLength(1);
    const f = findings[0] as Finding;
    expect(f.severity).toBe('critical');
    expect(f.subject).toEqual({ kind: 'identity', value: AGENT });
    expect(f.eventIds).toEqual([late.eventId]);
    expect(f.block).toEqual({ subject: { kind: 'identity', value: AGENT }, ttlMs: 3_600_000, reason: expect.stringContaining(NEW_ENDPOINT) });
    expect(f.details).toMatchObject({ never_seen_endpoints: [NEW_ENDPOINT], unapproved: [`endpoint-added ${NEW_ENDPOINT}`], changes: { endpoints_added: [NEW_ENDPOINT] } });
    // It renders as an OCSF Detection Finding like any other.
    const ocsf = toDetectionFinding(f, late, { alertId: 'a-1', productVersion: '0' });
    expect(ocsf.class_uid).toBe(2004);
  });

  it('does not block when config says not to', () => {
    const scorer = createConfigDriftScorer({ ...settings, block: false }, { changesTopic: 't' });
    const { findings } = run(scorer, [manifestEvent(T0), withEndpoint(T0 + HOUR)]);
    expect(findings[0]?.severity).toBe('critical');
    expect(findings[0]?.block).toBeUndefined();
  });

  it('an approved, in-window change covering the new endpoint is silent, and the baseline moves', () => {
    const scorer = scorerWith({ id: 'chg-1', endpoints: [NEW_ENDPOINT], from: T0 + HOUR, to: T0 + 3 * HOUR, createdAt: T0 + HOUR });
    const { state, findings } = run(scorer, [manifestEvent(T0), withEndpoint(T0 + 2 * HOUR)]);
    expect(findings).toEqual([]);
    expect(state.kind === 'agent' && state.endpoints).toContain(NEW_ENDPOINT);
    // Re-reporting the approved manifest after the window closed is silent too: it is the baseline now.
    expect(run(scorer, [withEndpoint(T0 + 10 * HOUR)], state).findings).toEqual([]);
  });

  it('a change request matching the new agent_config_hash covers every item of the change', () => {
    const scorer = scorerWith({ id: 'chg-digest', digest: 'cfg-2' });
    const next = manifestEvent(T0 + HOUR, { hash: 'cfg-2', endpoints: [...BASE_MANIFEST.endpoints, NEW_ENDPOINT] });
    expect(run(scorer, [manifestEvent(T0), next]).findings).toEqual([]);
  });

  it('out of window: the same change before the window opens or after it closes alerts', () => {
    const change = { id: 'chg-w', endpoints: [NEW_ENDPOINT], from: T0 + 5 * HOUR, to: T0 + 6 * HOUR, createdAt: T0 };
    expect(run(scorerWith(change), [manifestEvent(T0), withEndpoint(T0 + 4 * HOUR)]).findings).toHaveLength(1);
    expect(run(scorerWith(change), [manifestEvent(T0), withEndpoint(T0 + 7 * HOUR)]).findings).toHaveLength(1);
    expect(run(scorerWith(change), [manifestEvent(T0), withEndpoint(T0 + 5.5 * HOUR)]).findings).toEqual([]);
  });

  it('a request filed after the change (beyond clock skew) does not excuse it', () => {
    const scorer = scorerWith({ id: 'chg-late', endpoints: [NEW_ENDPOINT], from: T0, to: T0 + 9 * HOUR, createdAt: T0 + 3 * HOUR });
    expect(run(scorer, [manifestEvent(T0), withEndpoint(T0 + 2 * HOUR)]).findings).toHaveLength(1);
  });

  it('scope mismatch: a request for another agent does not cover this one; a prefix glob and * do', () => {
    expect(run(scorerWith({ id: 'c', scope: 'agent:other', endpoints: [NEW_ENDPOINT] }), [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toHaveLength(1);
    expect(run(scorerWith({ id: 'c', scope: 'agent:etl-*', endpoints: [NEW_ENDPOINT] }), [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toEqual([]);
    expect(run(scorerWith({ id: 'c', scope: '*', endpoints: [NEW_ENDPOINT] }), [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toEqual([]);
  });

  it('kind mismatch: a gateway-config request does not approve an agent manifest', () => {
    const scorer = scorerWith({ id: 'c', kind: 'gateway', scope: '*', endpoints: [NEW_ENDPOINT], sections: ['*'] });
    expect(run(scorer, [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toHaveLength(1);
  });

  it('a revoked request covers changes before its revocation only', () => {
    const change: ChangeSpec = { id: 'chg-r', endpoints: [NEW_ENDPOINT], status: 'revoked', revokedAt: T0 + 2 * HOUR };
    expect(run(scorerWith(change), [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toEqual([]);
    expect(run(scorerWith(change), [manifestEvent(T0), withEndpoint(T0 + 3 * HOUR)]).findings).toHaveLength(1);
  });

  it('a changed secret-bearing variable is critical (flagged by the agent or by its name); evidence quotes only a hash prefix', () => {
    for (const [name, value] of [
      ['UPSTREAM_CRED', 'opaque-2'],
      ['DB_PASSWORD', 'correct horse'],
    ] as const) {
      const { findings } = run(scorerWith(), [manifestEvent(T0), withEnv(T0 + HOUR, name, value)]);
      expect(findings).toHaveLength(1);
      const f = findings[0] as Finding;
      expect(f.severity).toBe('critical');
      expect(f.details['secret_variables_changed']).toEqual([name]);
      expect(f.block?.reason).toContain(name);
      const text = JSON.stringify(f);
      expect(text).not.toContain(value);
      expect(text).not.toContain(sha(value));
      expect(text).toContain(sha(value).slice(0, 8));
    }
  });

  it('a changed ordinary variable without approval is high, with no block', () => {
    const { findings } = run(scorerWith(), [manifestEvent(T0), withEnv(T0 + HOUR, 'LOG_LEVEL', 'debug')]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.severity).toBe('high');
    expect(findings[0]?.block).toBeUndefined();
  });

  it('a pinned value hash approves that value only', () => {
    const pinned = { id: 'chg-v', env: [{ name: 'DB_PASSWORD', valueSha256: sha('rotated-2025') }] };
    expect(run(scorerWith(pinned), [manifestEvent(T0), withEnv(T0 + HOUR, 'DB_PASSWORD', 'rotated-2025')]).findings).toEqual([]);
    expect(run(scorerWith(pinned), [manifestEvent(T0), withEnv(T0 + HOUR, 'DB_PASSWORD', 'something-else')]).findings[0]?.severity).toBe('critical');
  });

  it('a partly approved change reports only the uncovered items', () => {
    const scorer = scorerWith({ id: 'chg-p', env: [{ name: 'LOG_LEVEL' }] });
    const next = manifestEvent(T0 + HOUR, { endpoints: [...BASE_MANIFEST.endpoints, NEW_ENDPOINT], env: BASE_MANIFEST.env.map((v) => (v.name === 'LOG_LEVEL' ? { ...v, value: 'debug' } : v)) });
    const { findings } = run(scorer, [manifestEvent(T0), next]);
    expect(findings).toHaveLength(1);
    expect(findings[0]?.details['unapproved']).toEqual([`endpoint-added ${NEW_ENDPOINT}`]);
    expect(findings[0]?.details['approved']).toEqual([{ item: 'env-changed LOG_LEVEL', change_id: 'chg-p' }]);
  });

  it('an endpoint seen before (removed, then back) is an unapproved change but not never-seen', () => {
    const { findings } = run(scorerWith(), [withEndpoint(T0), manifestEvent(T0 + HOUR), withEndpoint(T0 + 2 * HOUR)]);
    expect(findings.map((f) => f.severity)).toEqual(['high', 'high']);
    expect(findings[1]?.details['never_seen_endpoints']).toEqual([]);
  });

  it('state survives serialisation and eviction forgets dormant agents', () => {
    const scorer = scorerWith();
    const { state } = run(scorer, [manifestEvent(T0)]);
    const back = scorer.deserialize(scorer.serialize(state));
    expect(back).toEqual(state);
    expect(run(scorer, [withEndpoint(T0 + HOUR)], back).findings).toHaveLength(1);
    expect(scorer.evict?.(state, T0 + 91 * 86_400_000)).toBeUndefined();
    expect(scorer.evict?.(state, T0 + HOUR)).toBe(state);
    expect(scorer.sizeOf?.(state)).toBeGreaterThan(0);
  });

  it('known endpoints stay bounded', () => {
    const scorer = createConfigDriftScorer({ ...settings, maxKnownEndpoints: 4 }, { changesTopic: 't' });
    const events = Array.from({ length: 20 }, (_, i) => manifestEvent(T0 + i * HOUR, { endpoints: [`https://e${i}.example:443`] }));
    const { state } = run(scorer, events);
    expect(state.kind === 'agent' && state.known.length).toBe(4);
  });
});

describe('config-drift scorer: change requests on the side input', () => {
  it('a malformed change request is ignored with a counted error, and removes what its key held', () => {
    const view = new ChangesView();
    const scorer = createConfigDriftScorer(settings, { changesTopic: 't', changes: view });
    expect(view.apply('chg-1', changeRequest({ id: 'chg-1', endpoints: [NEW_ENDPOINT] }))).toBeUndefined();
    expect(view.stats().requests).toBe(1);
    // The same key, now with its window backwards: the latest value approves nothing.
    expect(view.apply('chg-1', changeRequest({ id: 'chg-1', endpoints: [NEW_ENDPOINT], from: T0 + HOUR, to: T0 }))).toMatch(/window_end/);
    expect(view.apply('chg-2', Buffer.from([0xff, 0xff, 0xff]))).toMatch(/undecodable/);
    expect(view.apply('chg-3', changeRequest({ id: 'chg-3' }))).toMatch(/expected names nothing/);
    expect(view.apply('chg-4', changeRequest({ id: 'other-id', endpoints: [NEW_ENDPOINT] }))).toMatch(/does not match the record key/);
    expect(view.apply('chg-5', changeRequest({ id: 'chg-5', scope: '', endpoints: [NEW_ENDPOINT] }))).toMatch(/scope/);
    expect(view.stats()).toMatchObject({ requests: 0, malformed: 5 });
    expect(run(scorer, [manifestEvent(T0), withEndpoint(T0 + 2 * HOUR)]).findings).toHaveLength(1);
  });

  it('a tombstone withdraws a request', () => {
    const scorer = scorerWith({ id: 'chg-t', endpoints: [NEW_ENDPOINT] });
    scorer.changes.apply('chg-t', null);
    expect(run(scorer, [manifestEvent(T0), withEndpoint(T0 + HOUR)]).findings).toHaveLength(1);
  });
});

describe('config-drift scorer: gateway configuration', () => {
  const KEY = 'gateway:gw-1';
  const v1: Array<[string, string]> = [
    ['approvals', 'a1'],
    ['connection:main', 'm1'],
  ];
  const v2: Array<[string, string]> = [
    ['approvals', 'a1'],
    ['connection:main', 'm2'],
  ];

  it('first config is the baseline; a restart with the same digest is silent', () => {
    const scorer = scorerWith();
    const e = configEvent(T0, 'd1', v1);
    expect(scorer.keyOf(e)).toBe(KEY);
    expect(run(scorer, [e, configEvent(T0 + HOUR, 'd1', v1)]).findings).toEqual([]);
  });

  it('a digest change without an approved change is high, naming the changed sections', () => {
    const { findings } = run(scorerWith(), [configEvent(T0, 'd1', v1), configEvent(T0 + HOUR, 'd2', v2)]);
    expect(findings).toHaveLength(1);
    const f = findings[0] as Finding;
    expect(f.severity).toBe('high');
    expect(f.key).toBe(KEY);
    expect(f.block).toBeUndefined();
    expect(f.details).toMatchObject({ gateway_id: 'gw-1', old_digest: 'd1', new_digest: 'd2', changed_sections: ['connection:main'], unapproved_sections: ['connection:main'] });
  });

  it('approved by digest or by section (prefix glob) within the window: silent', () => {
    expect(run(scorerWith({ id: 'g1', kind: 'gateway', scope: 'gw-1', digest: 'd2' }), [configEvent(T0, 'd1', v1), configEvent(T0 + HOUR, 'd2', v2)]).findings).toEqual([]);
    expect(run(scorerWith({ id: 'g2', kind: 'gateway', scope: '*', sections: ['connection:*'] }), [configEvent(T0, 'd1', v1), configEvent(T0 + HOUR, 'd2', v2)]).findings).toEqual([]);
  });

  it('a request for another gateway or another section does not cover it', () => {
    expect(run(scorerWith({ id: 'g1', kind: 'gateway', scope: 'gw-2', digest: 'd2' }), [configEvent(T0, 'd1', v1), configEvent(T0 + HOUR, 'd2', v2)]).findings).toHaveLength(1);
    expect(run(scorerWith({ id: 'g2', kind: 'gateway', scope: 'gw-1', sections: ['approvals'] }), [configEvent(T0, 'd1', v1), configEvent(T0 + HOUR, 'd2', v2)]).findings).toHaveLength(1);
  });
});

describe('config-drift through the detector core', () => {
  it('peekPhase reads the phase of an encoded event without decoding it', () => {
    expect(peekPhase(Buffer.from(encodeEvent(manifestEvent(T0))))).toBe(Phase.MANIFEST);
    expect(peekPhase(Buffer.from(encodeEvent(configEvent(T0, 'd', []))))).toBe(Phase.CONFIG);
    expect(peekPhase(Buffer.from(encodeEvent({ ...manifestEvent(T0), phase: Phase.REQUEST })))).toBe(Phase.REQUEST);
    expect(peekPhase(Buffer.from([0x0a, 0x05, 0x01]))).toBeUndefined();
  });

  it('an unapproved new endpoint becomes one alert and one identity block', () => {
    const scorer = scorerWith();
    const core = new DetectorCore([scorer as never]);
    core.assign(0);
    const records = [manifestEvent(T0), withEndpoint(T0 + HOUR)].map((e, i) => ({ topic: 'ev', partition: 0, offset: String(i), key: Buffer.from(AGENT), value: Buffer.from(encodeEvent(e)), timestamp: Number(e.time) }));
    const out = core.process(0, records);
    expect(out.alerts).toHaveLength(1);
    expect(out.decisions.map((d) => d.key)).toEqual([`identity:${AGENT}`]);
  });
});
