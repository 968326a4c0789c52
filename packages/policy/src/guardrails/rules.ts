import { PcxError } from '@portcullis/common';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

/**
 * Guardrail rules are data: an id, a severity, a message an agent can act on, and a
 * match on statement facts. Every condition given must hold; a list matches when any
 * entry does. Rules are checked against every statement, nested ones included (a CTE's
 * DELETE, an EXPLAIN ANALYZE target, a PREPARE body, a DO block's statements).
 */
export const SEVERITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

const nonEmpty = z.array(z.string().min(1)).min(1);

export const ruleMatchSchema = z
  .object({
    dialects: z.array(z.enum(['postgres', 'mysql'])).min(1).optional(),
    kinds: nonEmpty.optional(),
    nodeTypes: nonEmpty.optional(),
    /** Any of these risk tags. */
    riskTags: nonEmpty.optional(),
    /** Globs on called function names (`lo_*`, `pg_catalog.pg_read_file`). */
    functions: nonEmpty.optional(),
    /** Globs on tables read or written. */
    tables: nonEmpty.optional(),
    tablesWritten: nonEmpty.optional(),
    /** Globs on objects named by DDL, GRANT and role statements. */
    objects: nonEmpty.optional(),
    /** The statement's objects or written tables include one of the connection's protected objects. */
    protectedObjects: z.literal(true).optional(),
    isWrite: z.boolean().optional(),
    missingWhere: z.literal(true).optional(),
    whereAlwaysTrue: z.literal(true).optional(),
    writesInCte: z.literal(true).optional(),
    isMultiStatement: z.boolean().optional(),
    copyProgram: z.literal(true).optional(),
    copyFile: z.literal(true).optional(),
  })
  .strict()
  .refine((m) => Object.keys(m).some((k) => k !== 'dialects'), { message: 'a match needs at least one condition besides dialects' });

export const ruleSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, . _ -'),
    severity: z.enum(SEVERITIES),
    message: z.string().min(1),
    /** Connection-name globs the rule applies to; all connections when absent. */
    connections: nonEmpty.optional(),
    match: ruleMatchSchema,
  })
  .strict();

export const rulesSchema = z.array(ruleSchema).superRefine((rules, ctx) => {
  const seen = new Set<string>();
  rules.forEach((r, i) => {
    if (seen.has(r.id)) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate rule id ${r.id}` });
    seen.add(r.id);
  });
});

export type RuleMatch = z.infer<typeof ruleMatchSchema>;
export type GuardrailRule = z.infer<typeof ruleSchema>;

/** Validates rules given as YAML text or as plain objects; the error names the bad key. */
export function loadRules(source: string | unknown): GuardrailRule[] {
  let data: unknown = source;
  if (typeof source === 'string') {
    try {
      data = parseYaml(source);
    } catch (e) {
      throw new PcxError('PCX_CONFIG_INVALID', `guardrail rules are not valid YAML: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (data !== null && typeof data === 'object' && !Array.isArray(data) && 'rules' in data) data = (data as { rules: unknown }).rules;
  const parsed = rulesSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue ? issue.path.join('.') : '';
    throw new PcxError('PCX_CONFIG_INVALID', `guardrail rules invalid at ${where || '(root)'}: ${issue?.message ?? 'invalid'}`, { key: where });
  }
  return parsed.data;
}
