import { describe, it, expect } from 'vitest';
import { randomBytes } from 'node:crypto';
import { createBus } from '@portcullis/bus';
import { busSchema, silentLogger } from '@portcullis/common';
import type { DetectorTopics } from '@portcullis/detectors';
import { generateScenario, runThroughBus } from '@portcullis/simulator';
import { kafkaBrokers } from '../support/kafka.js';
import { kcatConsumeAll } from '../support/kcat.js';

// What a SOC sees: the alerts topic read with kcat (librdkafka, no Portcullis code),
// each record an OCSF 1.x Detection Finding it can ingest without knowing our types.

interface Finding {
  class_uid: number;
  category_uid: number;
  activity_id: number;
  type_uid: number;
  time: number;
  severity_id: number;
  risk_score: number;
  confidence_id: number;
  finding_info: { uid: string; title: string; analytic: { name: string; type_id: number; type: string }; related_events: Array<{ uid: string }> };
  actor: { user: { uid: string } };
  src_endpoint: { ip?: string; hostname?: string };
  device: Record<string, unknown>;
  resources: Array<{ name: string; type: string }>;
  evidences: Array<{ data: { event_ids: string[] } }>;
  metadata: { uid: string; version: string; product: { name: string } };
}

describe('alerts as a SOC reads them with kcat', () => {
  it('every record on the alerts topic is an OCSF Detection Finding keyed by its uid, with evidence a SOC can follow', async () => {
    const brokers = await kafkaBrokers();
    const base = `it-soc-${randomBytes(5).toString('hex')}`;
    const topics: DetectorTopics = { events: `${base}.events`, alerts: `${base}.alerts`, decisions: `${base}.decisions`, dlq: `${base}.dlq`, state: (d) => `${base}.state.${d}` };
    const scenario = generateScenario({ seed: 5, agents: 5, weeks: 3 });
    const bus = createBus(busSchema.parse({ kind: 'kafka', brokers, clientId: 'soc-kcat-it' }), silentLogger());
    let run;
    try {
      run = await runThroughBus(scenario.events, { bus, config: scenario.config, logger: silentLogger(), changes: scenario.changes, topics, groupId: `${base}.detectors` });
    } finally {
      await bus.close();
    }
    const eventIds = new Set(scenario.events.map((e) => e.eventId));
    const records = await kcatConsumeAll(brokers, topics.alerts);
    expect(records.length).toBeGreaterThan(0);
    const detectors = new Set<string>();
    for (const r of records) {
      const f = JSON.parse(r.value) as Finding;
      expect([f.class_uid, f.category_uid, f.type_uid]).toEqual([2004, 2, 200400 + f.activity_id]);
      expect([1, 2, 3]).toContain(f.activity_id);
      expect(f.severity_id).toBeGreaterThanOrEqual(1);
      expect(f.severity_id).toBeLessThanOrEqual(6);
      expect(f.risk_score).toBeGreaterThanOrEqual(0);
      expect(f.risk_score).toBeLessThanOrEqual(100);
      expect(f.confidence_id).toBeGreaterThanOrEqual(1);
      // Keyed by the alert uid, so a compacting or deduplicating SOC pipeline folds updates.
      expect(r.key).toBe(f.finding_info.uid);
      expect(f.metadata.uid).toBe(f.finding_info.uid);
      expect(f.metadata.product.name).toBe('Portcullis');
      expect(f.metadata.version).toMatch(/^1\.\d+\.\d+$/);
      expect(f.finding_info.title.length).toBeGreaterThan(0);
      expect(['Rule', 'Behavioral', 'Statistical', 'Learning (ML/DL)']).toContain(f.finding_info.analytic.type);
      expect(f.actor.user.uid).toMatch(/^agent:/);
      expect(f.device).toBeTypeOf('object');
      // Evidence points at events that really went through the pipeline.
      const ids = f.evidences.flatMap((e) => e.data.event_ids);
      expect(ids.length).toBeGreaterThan(0);
      for (const id of ids) expect(eventIds.has(id)).toBe(true);
      detectors.add(f.finding_info.analytic.name);
    }
    // The scenario injects one insider action per signal; each signal's alerts are on the topic.
    for (const d of ['credential-origin', 'config-drift', 'command-anomaly', 'timing', 'data-leakage']) expect([d, detectors.has(d)]).toEqual([d, true]);
    // A command's tables are resources of the alert about it.
    const bulk = records.map((r) => JSON.parse(r.value) as Finding).find((f) => f.finding_info.analytic.name === 'command-anomaly');
    expect(bulk?.resources.some((x) => x.type === 'table')).toBe(true);
    expect(run.alerts.length).toBeGreaterThan(0);
  });
});
