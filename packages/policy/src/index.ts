export type { Analysis, AnalysisError, AnalysisErrorCode, Dialect, ObjectRef, RiskTag, StatementFacts, StatementKind } from './sql/facts.js';
export { allStatements } from './sql/facts.js';
export { analyzeSql, type AnalyzeOptions } from './sql/analyze.js';
export { DEFAULT_MAX_STATEMENT_BYTES } from './sql/input-limits.js';
export { createAnalysisCache, StatementAnalyzer, type AnalysisCacheOptions, type AnalysisCacheStats } from './sql/fingerprint-cache.js';
export { toCommandFacts, type CommandFacts } from './sql/command-facts.js';
export { loadRules, ruleSchema, rulesSchema, SEVERITIES, type GuardrailRule, type RuleMatch, type Severity } from './guardrails/rules.js';
export { defaultRules } from './guardrails/default-pack.js';
export { evaluateGuardrails, type GuardrailContext, type GuardrailVerdict } from './guardrails/evaluate.js';
