import { Topics, type DetectorsConfig } from '@portcullis/common';
import { CONFIG_DRIFT, createCommandAnomalyScorer, createConfigDriftScorer, createCredentialOriginScorer, createDataLeakageScorer, createScorers, createTimingScorer, type Scorer } from '@portcullis/detectors';

/**
 * The scorers a config enables: whatever the detectors' own registry builds, plus any
 * enabled signal it does not register yet, so an evaluation covers every detector the
 * package exports while the registry catches up. Config drift reads its change requests
 * from `changesTopic` (a run's own topic; default portcullis.changes).
 */
export function scorersFor(config: DetectorsConfig, o: { changesTopic?: string } = {}): Scorer<unknown>[] {
  const changesTopic = o.changesTopic ?? Topics.changes;
  const scorers = createScorers(config).filter((s) => s.name !== CONFIG_DRIFT || (s.sideInputs ?? []).every((i) => i.topic === changesTopic));
  const have = new Set(scorers.map((s) => s.name));
  const add = (s: Scorer<unknown>) => {
    if (!have.has(s.name)) {
      scorers.push(s);
      have.add(s.name);
    }
  };
  if (config.credentialOrigin.enabled) add(createCredentialOriginScorer(config.credentialOrigin) as Scorer<unknown>);
  if (config.commandAnomaly.enabled) add(createCommandAnomalyScorer(config.commandAnomaly) as Scorer<unknown>);
  if (config.timing.enabled) add(createTimingScorer(config.timing) as Scorer<unknown>);
  if (config.dataLeakage.enabled) add(createDataLeakageScorer(config.dataLeakage) as Scorer<unknown>);
  if (config.configDrift.enabled) add(createConfigDriftScorer(config.configDrift, { changesTopic }) as Scorer<unknown>);
  return scorers;
}
