import { allStatements, type Analysis, type StatementFacts } from '../sql/facts.js';
import { anyGlob, globMatch } from './glob.js';
import { SEVERITIES, type GuardrailRule, type RuleMatch, type Severity } from './rules.js';

export interface GuardrailContext {
  /** The connection's name, for rules scoped to some connections. */
  connection?: string;
  /** Globs naming objects no DDL may touch on this connection. */
  protectedObjects?: readonly string[];
  /** What to do with a statement that does not parse. Default deny. */
  onUnparseable?: 'deny' | 'allow';
}

export type GuardrailVerdict =
  | { action: 'allow' }
  | {
      action: 'deny';
      code: 'PCX_GUARDRAIL_DENIED' | 'PCX_SQL_UNPARSEABLE' | 'PCX_PAYLOAD_TOO_LARGE';
      ruleId: string;
      severity: Severity;
      message: string;
      /** Which statement tripped the rule: `DELETE (DeleteStmt) on public.users`. */
      detail?: string;
    };

const ALLOW: GuardrailVerdict = Object.freeze({ action: 'allow' });
const rank = (s: Severity): number => SEVERITIES.indexOf(s);

/**
 * The most severe denying rule wins; among equals, the first in the list. The whole
 * command is denied when any of its statements, nested ones included, is.
 */
export function evaluateGuardrails(analysis: Analysis, rules: readonly GuardrailRule[], ctx: GuardrailContext = {}): GuardrailVerdict {
  if (!analysis.ok) {
    if (analysis.error.code === 'PCX_PAYLOAD_TOO_LARGE') return { action: 'deny', code: 'PCX_PAYLOAD_TOO_LARGE', ruleId: 'payload-too-large', severity: 'high', message: analysis.error.message };
    if (ctx.onUnparseable === 'allow') return ALLOW;
    return { action: 'deny', code: 'PCX_SQL_UNPARSEABLE', ruleId: 'unparseable', severity: 'high', message: `${analysis.error.message}. Statements that cannot be analysed are refused on this connection.` };
  }
  const statements = allStatements(analysis.statements);
  let best: { rule: GuardrailRule; stmt: StatementFacts } | undefined;
  for (const rule of rules) {
    if (best && rank(rule.severity) >= rank(best.rule.severity)) continue;
    if (rule.connections && !(ctx.connection !== undefined && rule.connections.some((p) => globMatch(p, ctx.connection as string)))) continue;
    if (rule.match.dialects && !rule.match.dialects.includes(analysis.dialect)) continue;
    for (const stmt of statements) {
      if (matches(rule.match, stmt, analysis, ctx)) {
        best = { rule, stmt };
        break;
      }
    }
  }
  if (!best) return ALLOW;
  const { rule, stmt } = best;
  const on = [...stmt.objects.map((o) => o.name), ...stmt.tablesWritten];
  return {
    action: 'deny',
    code: 'PCX_GUARDRAIL_DENIED',
    ruleId: rule.id,
    severity: rule.severity,
    message: rule.message,
    detail: `${stmt.kind} (${stmt.nodeType})${on.length > 0 ? ` on ${[...new Set(on)].join(', ')}` : ''}`,
  };
}

function matches(m: RuleMatch, s: StatementFacts, a: Analysis & { ok: true }, ctx: GuardrailContext): boolean {
  if (m.kinds && !m.kinds.includes(s.kind)) return false;
  if (m.nodeTypes && !m.nodeTypes.includes(s.nodeType)) return false;
  if (m.riskTags && !m.riskTags.some((t) => (s.riskTags as string[]).includes(t))) return false;
  if (m.isWrite !== undefined && s.isWrite !== m.isWrite) return false;
  if (m.missingWhere && s.hasWhere) return false;
  if (m.whereAlwaysTrue && !s.whereAlwaysTrue) return false;
  if (m.writesInCte && !s.writesInCte) return false;
  if (m.isMultiStatement !== undefined && a.isMultiStatement !== m.isMultiStatement) return false;
  if (m.copyProgram && !s.copyProgram) return false;
  if (m.copyFile && !s.copyFile) return false;
  if (m.functions && anyGlob(m.functions, s.functions) === undefined) return false;
  if (m.tables && anyGlob(m.tables, [...s.tablesRead, ...s.tablesWritten]) === undefined) return false;
  if (m.tablesWritten && anyGlob(m.tablesWritten, s.tablesWritten) === undefined) return false;
  if (m.objects && anyGlob(m.objects, s.objects.map((o) => o.name)) === undefined) return false;
  if (m.protectedObjects) {
    const prot = ctx.protectedObjects ?? [];
    if (prot.length === 0 || anyGlob(prot, [...s.objects.map((o) => o.name), ...s.tablesWritten]) === undefined) return false;
  }
  return true;
}
