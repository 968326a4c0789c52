import { isPcxError, PcxError, type ConnectionConfig } from '@portcullis/common';
import { defaultRules, evaluateGuardrails, loadRules, type Analysis, type GuardrailContext, type GuardrailRule } from '@portcullis/policy';
import type { Policy, PolicyContext, PolicyVerdict } from './policy.js';

interface ConnectionGuardrails {
  readonly rules: readonly GuardrailRule[];
  readonly context: GuardrailContext;
  /** Verdicts per analysis: a seen statement shape is judged once. */
  readonly verdicts: WeakMap<Analysis, PolicyVerdict>;
}

const ALLOW: PolicyVerdict = Object.freeze({ action: 'allow' });

/**
 * Per connection: the default guardrail pack (minus `disableDefaults`) and the
 * connection's own rules, validated here at start so a bad rule names its key.
 */
export function compileGuardrails(connections: readonly ConnectionConfig[]): Map<string, ConnectionGuardrails> {
  const defaults = defaultRules();
  const out = new Map<string, ConnectionGuardrails>();
  connections.forEach((c, i) => {
    const key = `gateway.connections.${i}.guardrails`;
    const g = c.guardrails;
    const unknown = g.disableDefaults.filter((id) => !defaults.some((r) => r.id === id));
    if (unknown.length > 0) {
      throw new PcxError('PCX_CONFIG_INVALID', `${key}.disableDefaults: no default rule ${unknown.join(', ')} (default rules: ${defaults.map((r) => r.id).join(', ')})`, { key: `${key}.disableDefaults` });
    }
    let own: GuardrailRule[];
    try {
      own = g.rules.length > 0 ? loadRules(g.rules) : [];
    } catch (e) {
      throw new PcxError('PCX_CONFIG_INVALID', `${key}.rules: ${isPcxError(e) ? e.message : String(e)}`, { key: `${key}.rules` });
    }
    const kept = defaults.filter((r) => !g.disableDefaults.includes(r.id));
    const clash = own.find((r) => kept.some((d) => d.id === r.id));
    if (clash) throw new PcxError('PCX_CONFIG_INVALID', `${key}.rules: rule id ${clash.id} is a default rule's; disable the default or choose another id`, { key: `${key}.rules` });
    out.set(c.name, {
      rules: [...kept, ...own],
      context: { connection: c.name, protectedObjects: g.protectedObjects, onUnparseable: g.onUnparseable },
      verdicts: new WeakMap(),
    });
  });
  return out;
}

/**
 * Guardrails as a Policy: the command's statement analysis (from PolicyAnalyzer, the
 * same one its events' command facts came from) against the connection's rules. A denial
 * carries the rule id and the rule's message, so an agent can correct itself.
 */
export function guardrailPolicy(connections: readonly ConnectionConfig[]): Policy {
  const byName = compileGuardrails(connections);
  return {
    evaluate(ctx: PolicyContext): PolicyVerdict {
      const g = byName.get(ctx.connection.name);
      if (!g) return ALLOW;
      const analysis = ctx.facts.analysis;
      if (!analysis) {
        // Another analyzer was plugged in: there is no parse tree to judge.
        if (g.context.onUnparseable === 'allow') return ALLOW;
        return { action: 'deny', code: 'PCX_SQL_UNPARSEABLE', rule: 'unparseable', message: 'guardrail unparseable: the statement could not be analysed, and statements that cannot be analysed are refused on this connection' };
      }
      let v = g.verdicts.get(analysis);
      if (!v) {
        v = judge(analysis, g);
        g.verdicts.set(analysis, v);
      }
      return v;
    },
  };
}

function judge(analysis: Analysis, g: ConnectionGuardrails): PolicyVerdict {
  const v = evaluateGuardrails(analysis, g.rules, g.context);
  if (v.action === 'allow') return ALLOW;
  const detail = v.detail ? ` (${v.detail})` : '';
  return Object.freeze({ action: 'deny', code: v.code, rule: v.ruleId, message: `guardrail ${v.ruleId}: ${v.message}${detail}` });
}
