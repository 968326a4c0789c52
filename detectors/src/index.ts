export type { Scorer, ScoreResult, Finding, SubjectRef, SubjectKindName, SeverityName, AnalyticKind } from './scorer.js';
export { subjectString } from './scorer.js';
export {
  CREDENTIAL_ORIGIN,
  createCredentialOriginScorer,
  scoreCredentialOrigin,
  originKey,
  type CredentialOriginState,
  type CredentialOriginSettings,
  type OriginEntry,
} from './scorers/credential-origin.js';
export { createScorers } from './scorers/index.js';
export { PublishGate } from './runtime/publish-gate.js';
export { toDetectionFinding, OCSF_VERSION, type DetectionFinding, type OcsfOptions } from './alerts/ocsf.js';
export { decisionOf } from './alerts/decision.js';
export { deterministicId, alertIdOf } from './alerts/ids.js';
export { DetectorCore, DEFAULT_CORE_OPTIONS, type CoreOptions, type InputRecord, type OutRecord, type BatchResult } from './runtime/core.js';
export { runDetectors, DEFAULT_DETECTOR_TOPICS, type RunDetectorsOptions, type DetectorRuntime, type DetectorStats, type DetectorTopics } from './runtime/run-detectors.js';
export { stateKey, recentAlertsKey, parseChangelogKey } from './runtime/changelog-keys.js';
