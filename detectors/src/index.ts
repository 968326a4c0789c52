export type { Scorer, SideInput, ScoreResult, StateUpdate, Finding, SubjectRef, SubjectKindName, SeverityName, AnalyticKind } from './scorer.js';
export { subjectString, pureScore, NO_FINDINGS } from './scorer.js';
export {
  CREDENTIAL_ORIGIN,
  createCredentialOriginScorer,
  scoreCredentialOrigin,
  originKey,
  type CredentialOriginState,
  type CredentialOriginSettings,
  type OriginEntry,
} from './scorers/credential-origin.js';
export { createScorers, createAggregator } from './scorers/index.js';
export { PublishGate } from './runtime/publish-gate.js';
export { COMMAND_ANOMALY, createCommandAnomalyScorer, scoreCommandAnomaly, type CommandAnomalyState, type CommandAnomalySettings, type TableCount, type PendingRead } from './scorers/command-anomaly.js';
export { TIMING, createTimingScorer, type TimingState, type TimingSettings } from './scorers/timing.js';
export { DATA_LEAKAGE, createDataLeakageScorer, destinationOf, leakageKey, type DataLeakageState, type DataLeakageSettings } from './scorers/data-leakage.js';
export {
  RISK_AGGREGATION,
  createRiskAggregator,
  type RiskAggregator,
  type RiskState,
  type RiskEpisode,
  type RiskUpdate,
  type RiskResult,
  type RiskActivity,
  type RiskAggregationSettings,
} from './scorers/risk-aggregation.js';
export { parseCron, cronMatches, CronSyntaxError, type Cron, type LocalTime } from './stats/cron.js';
export { toDetectionFinding, OCSF_VERSION, type DetectionFinding, type OcsfOptions, type AlertActivity } from './alerts/ocsf.js';
export { decisionOf } from './alerts/decision.js';
export { deterministicId, alertIdOf } from './alerts/ids.js';
export { DetectorCore, DEFAULT_CORE_OPTIONS, RUNTIME_STORE, WindowRolledBack, type CoreOptions, type InputRecord, type OutRecord, type BatchResult, type FlushResult } from './runtime/core.js';
export { runDetectors, DEFAULT_DETECTOR_TOPICS, type RunDetectorsOptions, type DetectorRuntime, type DetectorStats, type DetectorTopics } from './runtime/run-detectors.js';
export { stateKey, recentAlertsKey, offsetKey, runtimeKey, parseChangelogKey } from './runtime/changelog-keys.js';
export { EventIdRing, eventIdHash } from './runtime/event-id-ring.js';
export { GatewayClock } from './runtime/gateway-clock.js';
export { CONFIG_DRIFT, createConfigDriftScorer, scoreConfigDrift, driftKey, type ConfigDriftScorer, type ConfigDriftState, type ConfigDriftSettings, type AgentBaseline, type GatewayBaseline, type EnvEntry } from './scorers/config-drift.js';
export { ChangesView, parseChangeRequest, scopeMatches, type ApprovedChange, type ChangeKindName, type ChangesViewStats } from './changes/changes-view.js';
export { SideInputFeed, peekPhase } from './runtime/side-inputs.js';
