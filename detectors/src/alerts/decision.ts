import { DecisionEffect, SubjectKind, type IDecision } from '@portcullis/proto';
import { subjectString, type Finding, type SubjectKindName } from '../scorer.js';
import { deterministicId } from './ids.js';

const SUBJECT_KINDS: Record<SubjectKindName, number> = {
  identity: SubjectKind.SUBJECT_IDENTITY,
  credential: SubjectKind.SUBJECT_CREDENTIAL,
  origin: SubjectKind.SUBJECT_ORIGIN,
  session: SubjectKind.SUBJECT_SESSION,
};

/**
 * The block Decision a finding asks for, or undefined when it asks for none. Times are
 * event time: created when the evidence happened, expiring ttl later, so a backtest
 * produces the same decisions as live traffic did.
 */
export function decisionOf(f: Finding, alertId: string, environment: string): IDecision | undefined {
  if (!f.block) return undefined;
  const subject = subjectString(f.block.subject);
  return {
    decisionId: deterministicId('decision', alertId, subject),
    subject,
    subjectKind: SUBJECT_KINDS[f.block.subject.kind],
    subjectValue: f.block.subject.value,
    effect: DecisionEffect.BLOCK,
    reason: f.block.reason,
    source: f.detector,
    alertId,
    createdAt: f.lastSeen,
    expiresAt: f.block.ttlMs > 0 ? f.lastSeen + f.block.ttlMs : 0,
    environment,
  };
}

