import { describe, it, expect } from 'vitest';
import { eventToRow } from '@portcullis/store';
import { Phase, pb } from '@portcullis/proto';
import { generateScenario, rowToEvent, WEEK } from '../src/index.js';

describe('scenario generator', () => {
  const a = generateScenario({ seed: 7, agents: 8, weeks: 3 });

  it('is a pure function of its seed', () => {
    const b = generateScenario({ seed: 7, agents: 8, weeks: 3 });
    expect(b.events.length).toBe(a.events.length);
    expect(b.events.map((e) => e.eventId)).toEqual(a.events.map((e) => e.eventId));
    expect(b.injections).toEqual(a.injections);
    const c = generateScenario({ seed: 8, agents: 8, weeks: 3 });
    expect(c.events.map((e) => e.eventId).slice(0, 50)).not.toEqual(a.events.map((e) => e.eventId).slice(0, 50));
  });

  it('produces a mixed fleet with declared schedules and allowlists in the detectors config', () => {
    expect(new Set(a.agents.map((x) => x.role)).size).toBe(4);
    for (const agent of a.agents) {
      const declared = a.config.timing.agents[agent.subject];
      expect(declared?.timeZone).toBe(agent.timeZone);
      expect(declared?.cron).toEqual(agent.cron);
      expect(a.config.dataLeakage.allowedDestinationsByAgent[agent.subject]).toEqual(agent.destinations);
    }
    expect(a.agents.filter((x) => x.cron.length > 0).length).toBeGreaterThan(0);
  });

  it('emits time-ordered REQUEST/RESPONSE pairs with the command and response facts detectors read', () => {
    let last = 0;
    const requests = new Map<string, number>();
    let responses = 0;
    for (const e of a.events) {
      expect(Number(e.time)).toBeGreaterThanOrEqual(last);
      last = Number(e.time);
      expect(e.identity?.credentialId).toBeTruthy();
      if (e.phase === Phase.MANIFEST) continue;
      expect(e.command?.tables?.length).toBeGreaterThan(0);
      if (e.phase === Phase.REQUEST) requests.set(e.requestId ?? '', Number(e.time));
      else {
        responses += 1;
        expect(requests.has(e.requestId ?? '')).toBe(true);
        expect(e.response?.destination).toBeTruthy();
      }
    }
    expect(responses).toBe(requests.size);
    expect(a.events.length).toBeGreaterThan(5_000);
  });

  it('labels every injection with its events, detector, time and block expectation, in the last week', () => {
    const ids = new Set(a.events.map((e) => e.eventId));
    const kinds = new Set(a.injections.map((i) => i.kind));
    expect([...kinds].sort()).toEqual(['bulk-rare-table', 'config-drift', 'off-schedule', 'sensitive-to-new-destination', 'stolen-token'].filter((k) => !a.notCovered.some((n) => n.kind === k)).sort());
    expect(a.notCovered.map((n) => n.kind)).not.toContain('config-drift');
    expect(a.injections.filter((i) => i.kind === 'config-drift').map((i) => i.variant).sort()).toEqual(['new-endpoint', 'out-of-window', 'secret-changed']);
    for (const inj of a.injections) {
      expect(inj.start).toBeGreaterThanOrEqual(a.to - WEEK);
      expect(inj.end).toBeLessThan(a.to);
      for (const id of inj.eventIds) expect(ids.has(id)).toBe(true);
      if (inj.kind === 'stolen-token') expect(inj.expectBlock).toBe(`credential:${inj.credentialId}`);
      if (inj.kind === 'sensitive-to-new-destination' || inj.kind === 'config-drift') expect(inj.expectBlock).toBe(`identity:${inj.subject}`);
    }
  });

  it('reports a manifest at each session start and files an approved, in-window change request for each deploy that changes it', () => {
    const s = generateScenario({ seed: 202, agents: 14, weeks: 4 });
    const manifests = s.events.filter((e) => e.phase === Phase.MANIFEST);
    const sessions = new Set(s.events.filter((e) => e.phase === Phase.REQUEST).map((e) => e.sessionId));
    expect(manifests.length).toBeGreaterThan(100);
    for (const m of manifests) {
      expect(sessions.has(m.sessionId)).toBe(true);
      expect(m.manifest?.endpoints?.length).toBeGreaterThan(0);
      expect(m.manifest?.env?.some((v) => v.secretBearing)).toBe(true);
      for (const v of m.manifest?.env ?? []) expect(v.valueSha256).toMatch(/^[0-9a-f]{64}$/);
    }
    const benign = s.changes.filter((c) => c.benign);
    expect(benign.length).toBeGreaterThan(0);
    const subjects = new Set(s.agents.map((x) => x.subject));
    for (const c of s.changes) {
      const r = pb.ChangeRequest.decode(c.value);
      expect(r.changeId).toBe(c.key);
      expect(r.status).toBe(pb.ChangeStatus.CHANGE_APPROVED);
      expect(r.kind).toBe(pb.ChangeKind.AGENT_MANIFEST);
      expect(subjects.has(r.scope)).toBe(true);
      expect(Number(r.createdAt)).toBeLessThanOrEqual(Number(r.windowStart) + 48 * 3_600_000);
    }
    // Each out-of-window injection has its approved request, whose window misses the use.
    for (const inj of s.injections.filter((i) => i.variant === 'out-of-window')) {
      const decoy = s.changes.map((c) => pb.ChangeRequest.decode(c.value)).find((r) => r.scope === inj.subject && r.changeId.includes('canary'));
      expect(decoy).toBeDefined();
      expect(inj.start < Number(decoy?.windowStart) || inj.start > Number(decoy?.windowEnd)).toBe(true);
    }
  });

  it('rejects scenarios too short to mature a baseline', () => {
    expect(() => generateScenario({ seed: 1, agents: 4, weeks: 2 })).toThrow(/at least 3/);
  });
});

describe('row → event mapper', () => {
  it('round-trips stored rows (as JSON and as flattened CLI cells) back into the events detectors score', () => {
    const s = generateScenario({ seed: 3, agents: 4, weeks: 3 });
    for (const e of s.events.filter((x) => x.phase !== Phase.MANIFEST).slice(0, 400)) {
      const row = eventToRow(e);
      const flat = Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Array.isArray(v) || (v && typeof v === 'object') ? JSON.stringify(v) : typeof v === 'number' && k !== 'time' ? String(v) : v]));
      const text = { ...flat, time: new Date(row.time).toISOString().replace('T', ' ').replace('Z', '') };
      for (const back of [rowToEvent({ ...row }), rowToEvent(text)]) {
        expect(back.eventId).toBe(e.eventId);
        expect(back.time).toBe(e.time);
        expect(back.phase).toBe(e.phase);
        expect(back.identity).toMatchObject({ subject: e.identity?.subject, credentialId: e.identity?.credentialId, kind: e.identity?.kind });
        expect(back.origin).toMatchObject({ peerIp: e.origin?.peerIp, declaredHost: e.origin?.declaredHost, containerId: e.origin?.containerId });
        expect(back.command).toMatchObject({ tables: e.command?.tables, isWrite: e.command?.isWrite, hasWhere: e.command?.hasWhere, hasLimit: e.command?.hasLimit, statementType: e.command?.statementType });
        if (e.phase === Phase.RESPONSE) {
          expect(back.response).toMatchObject({ rows: e.response?.rows, bytes: e.response?.bytes, destination: e.response?.destination });
          expect(back.response?.pii).toEqual(e.response?.pii);
        }
      }
    }
  });
});
