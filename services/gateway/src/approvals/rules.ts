import type { ApprovalRuleConfig, ApprovalsConfig } from '@portcullis/common';
import type { HoldVerdict, Policy, PolicyContext, PolicyVerdict } from '../policy/policy.js';

/**
 * Approval rules as a policy piece, pure: config rules evaluated on the command's facts.
 * The first rule whose every condition holds puts the command on hold. Conditions absent
 * from a rule do not constrain it; a rule with none holds everything (and is refused by
 * nobody, so write one deliberately).
 */
export interface CompiledRule {
  readonly config: ApprovalRuleConfig;
  readonly tables?: readonly RegExp[];
  readonly approverGroups: readonly string[];
}

export function compileRules(config: Pick<ApprovalsConfig, 'rules' | 'approvers'>): CompiledRule[] {
  return config.rules.map((rule) => ({
    config: rule,
    ...(rule.when.tables ? { tables: rule.when.tables.map(globToRegExp) } : {}),
    approverGroups: rule.approverGroups.length > 0 ? rule.approverGroups : config.approvers,
  }));
}

/** `*` any run of characters, `?` one; case-insensitive, whole name (schema-qualified names match `schema.*`). */
export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}

function tableMatches(patterns: readonly RegExp[], table: string): boolean {
  // Matches the name as written and its unqualified tail, so `customers` holds `public.customers` too.
  const tail = table.includes('.') ? table.slice(table.lastIndexOf('.') + 1) : table;
  return patterns.some((p) => p.test(table) || p.test(tail));
}

export function ruleMatches(rule: CompiledRule, ctx: Pick<PolicyContext, 'facts' | 'connection'>, environment: string): boolean {
  const w = rule.config.when;
  const f = ctx.facts;
  if (w.environment && !w.environment.includes(environment)) return false;
  if (w.connections && !w.connections.includes(ctx.connection.name)) return false;
  if (w.isWrite !== undefined && f.isWrite !== w.isWrite) return false;
  if (w.missingLimit !== undefined && !f.hasLimit !== w.missingLimit) return false;
  if (w.riskTags && !w.riskTags.some((t) => f.riskTags.includes(t))) return false;
  if (rule.tables && !f.tables.some((t) => tableMatches(rule.tables ?? [], t))) return false;
  return true;
}

export function evaluateApprovalRules(rules: readonly CompiledRule[], ctx: Pick<PolicyContext, 'facts' | 'connection'>, environment: string): HoldVerdict | undefined {
  for (const rule of rules) {
    if (!ruleMatches(rule, ctx, environment)) continue;
    const c = rule.config;
    return {
      action: 'hold',
      ruleId: c.id,
      reason: c.reason ?? defaultReason(rule, ctx),
      requiredApprovals: c.approvals,
      approverGroups: rule.approverGroups,
      ...(c.ttlMs !== undefined ? { ttlMs: c.ttlMs } : {}),
    };
  }
  return undefined;
}

function defaultReason(rule: CompiledRule, ctx: Pick<PolicyContext, 'facts'>): string {
  const what = ctx.facts.statementType || (ctx.facts.isWrite ? 'write' : 'command');
  return `${what} matches approval rule ${rule.config.id}`;
}

/**
 * `inner` first — a denial (a guardrail) wins over a hold, since approving a command the
 * guardrails refuse would be pointless — then the approval rules.
 */
export function withApprovalRules(inner: Policy, config: Pick<ApprovalsConfig, 'rules' | 'approvers'>, environment: string): Policy {
  const rules = compileRules(config);
  if (rules.length === 0) return inner;
  return {
    async evaluate(ctx: PolicyContext): Promise<PolicyVerdict> {
      const verdict = await inner.evaluate(ctx);
      if (verdict.action !== 'allow') return verdict;
      return evaluateApprovalRules(rules, ctx, environment) ?? verdict;
    },
  };
}
