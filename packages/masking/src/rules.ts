import { PcxError } from '@portcullis/common';
import { z, type ZodError } from 'zod';
import type { MaskAction } from './actions.js';
import { globMatch } from './glob.js';
import { sourceNames, type Lineage } from './lineage.js';
import { DETECTORS, type DetectorName } from './types.js';

/**
 * Per-connection masking rules, as data. Shorthands keep YAML small: an action may be
 * written `redact`, `partial` or `token`, and a detector may be turned `off`.
 *
 * ```yaml
 * masking:
 *   columns:
 *     - { column: '*ssn*', label: ssn, action: partial }
 *     - { column: 'customers.email', label: email, action: token }
 *     - { regex: '^(card|pan)(_number)?$', label: card }
 *   detectors: { phone: off, email: token }
 *   defaultAction: redact
 * ```
 */
const actionObject = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('redact'), token: z.string().min(1).max(64).optional() }).strict(),
  z.object({ kind: z.literal('partial'), keep: z.number().int().min(1).max(8).default(4) }).strict(),
  z.object({ kind: z.literal('token') }).strict(),
]);

export const maskActionSchema = z.preprocess((v) => (typeof v === 'string' ? { kind: v } : v), actionObject);

const label = z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'lower-case letters, digits and _ (it is a metric key)');

export const columnRuleSchema = z
  .object({
    /** Glob on the column name, case-insensitive. With a dot (`customers.ssn`) it matches `table.column` of a source column. */
    column: z.string().min(1).max(256).optional(),
    /** Regular expression on the column name, case-insensitive; an alternative to `column`. */
    regex: z.string().min(1).max(256).optional(),
    /** The category counted in piiCounts and shown in tokens, e.g. `ssn`, `card`. */
    label: label.default('column'),
    action: maskActionSchema.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if ((r.column ? 1 : 0) + (r.regex ? 1 : 0) !== 1) ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'give exactly one of column or regex' });
    if (r.regex) {
      try {
        new RegExp(r.regex, 'i');
      } catch (e) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['regex'], message: `not a valid regular expression: ${(e as Error).message}` });
      }
    }
  });

export const maskingRulesSchema = z
  .object({
    columns: z.array(columnRuleSchema).default([]),
    /** Per-detector action, or `off`. Detectors not named use defaultAction. */
    detectors: z.record(z.enum(DETECTORS), z.union([z.literal('off'), maskActionSchema])).default({}),
    defaultAction: maskActionSchema.default({ kind: 'redact' }),
    /** Whether a rule matching a source column masks the output columns derived from it. */
    lineage: z.boolean().default(true),
  })
  .strict();

export type MaskingRulesInput = z.input<typeof maskingRulesSchema>;
export type MaskingRules = z.output<typeof maskingRulesSchema>;
export type ColumnRule = z.output<typeof columnRuleSchema>;

function formatIssues(err: ZodError): string {
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

/** Validates rules once, at start. Throws PCX_CONFIG_INVALID naming each bad key under `source`. */
export function parseMaskingRules(raw: unknown, source = 'masking'): MaskingRules {
  const r = maskingRulesSchema.safeParse(raw ?? {});
  if (!r.success) {
    const msg = formatIssues(r.error)
      .split('; ')
      .map((m) => `${source}.${m}`)
      .join('; ');
    throw new PcxError('PCX_CONFIG_INVALID', msg, { key: source });
  }
  return r.data;
}

/** A column rule ready to match, with its effective action. */
export interface CompiledColumnRule {
  readonly index: number;
  readonly label: string;
  readonly action: MaskAction;
  matchesName(name: string): boolean;
  matchesQualified(name: string): boolean;
}

/** Column names are identifiers; longer strings are not matched against config regexes. */
const MAX_NAME = 256;

export function compileColumnRules(rules: MaskingRules): CompiledColumnRule[] {
  return rules.columns.map((r, index) => {
    const action = (r.action ?? rules.defaultAction) as MaskAction;
    if (r.regex) {
      const re = new RegExp(r.regex, 'i');
      const test = (n: string) => n.length <= MAX_NAME && re.test(n);
      return { index, label: r.label, action, matchesName: test, matchesQualified: test };
    }
    const pattern = r.column as string;
    const qualifiedPattern = pattern.includes('.');
    return {
      index,
      label: r.label,
      action,
      matchesName: (n: string) => !qualifiedPattern && n.length <= MAX_NAME && globMatch(pattern, n),
      matchesQualified: (n: string) => qualifiedPattern && n.length <= MAX_NAME && globMatch(pattern, n),
    };
  });
}

export interface ColumnDecision {
  rule: CompiledColumnRule;
  /** `name`: the output column's own name matched; `lineage`: one of its source columns did. */
  via: 'name' | 'lineage';
}

/**
 * The first rule (in config order) that covers an output column, by its own name or —
 * when lineage is on — by any source column it is derived from.
 */
export function ruleForColumn(rules: readonly CompiledColumnRule[], output: string, lineage: Lineage | undefined, useLineage: boolean): ColumnDecision | undefined {
  const sources = useLineage && lineage && Object.hasOwn(lineage, output) ? (lineage[output] ?? []) : [];
  const names = sources.map(sourceNames);
  for (const rule of rules) {
    if (rule.matchesName(output)) return { rule, via: 'name' };
    for (const n of names) {
      if (rule.matchesName(n.bare) || n.qualified.some((q) => rule.matchesQualified(q))) return { rule, via: 'lineage' };
    }
  }
  return undefined;
}

/** Which detectors run, and the action of each. */
export function detectorPlan(rules: MaskingRules): { enabled: Set<DetectorName>; actions: Map<DetectorName, MaskAction> } {
  const enabled = new Set<DetectorName>();
  const actions = new Map<DetectorName, MaskAction>();
  for (const d of DETECTORS) {
    const a = rules.detectors[d];
    if (a === 'off') continue;
    enabled.add(d);
    actions.set(d, (a ?? rules.defaultAction) as MaskAction);
  }
  return { enabled, actions };
}
