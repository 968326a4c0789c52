import { isPcxError, PcxError, resolveSecretRef, type ConnectionConfig, type Secret } from '@portcullis/common';
import { createRowMasker, parseMaskingRules, type Lineage, type MaskingRules, type MaskSummary } from '@portcullis/masking';
import type { CommandFacts } from '../analysis/command-analyzer.js';
import type { EventContext, EventVerdict, ResponseFacts } from '../events/event-builder.js';
import type { Identity } from '../identity/authenticator.js';
import type { ResultSet, ResultValue } from '../targets/target.js';
import { outputLineage, withStarColumns, type OutputLineage } from './output-lineage.js';

interface ConnectionMasking {
  readonly rules: MaskingRules;
  readonly key: Secret | undefined;
  readonly unmaskGroups: readonly string[];
  /** No masking configured: the caller gets the raw rows, events only the masked copy. */
  readonly recordOnly: boolean;
}

/**
 * What a connection without a `masking:` block still gets: every value detector, redact.
 * The operator chose not to mask what callers see there, but events travel on to Kafka,
 * the detectors and ClickHouse, where unmasked PII must never land — and the counts are
 * what the data-leakage detector scores.
 */
const RECORD_ONLY_RULES: MaskingRules = parseMaskingRules({ lineage: false }, 'masking');

export interface MaskOutcome {
  /** The result as the caller sees it: masked, or raw under break glass. */
  readonly result: ResultSet;
  /** The result as events record it: always masked, break glass or not. */
  readonly recorded: ResultSet;
  readonly summary: MaskSummary;
  /** The break-glass group that let raw values through, when one did. */
  readonly unmaskedBy?: string;
  /** The connection has no masking: the caller got raw rows by configuration, not by break glass. */
  readonly recordOnly?: boolean;
}

export interface ResponseMasking {
  /** Undefined when the result has no columns; on a connection without masking, `result` is the raw rows. */
  mask(connection: string, command: string, facts: CommandFacts, identity: Identity, result: ResultSet): MaskOutcome | undefined;
  /** A target's error message, masked like a cell (it may quote a value: `Key (email)=(…)`). */
  maskMessage(connection: string, message: string, identity: Identity): string;
}

/**
 * Per-connection masking from config, validated at start (rules by the masking package's
 * schema, the token key resolved from its reference). Each result is masked row by row
 * before it is answered or copied into an event.
 */
export function responseMasking(connections: readonly ConnectionConfig[], env: Readonly<Record<string, string | undefined>>): ResponseMasking {
  const byName = new Map<string, ConnectionMasking>();
  connections.forEach((c, i) => {
    if (!c.masking) {
      byName.set(c.name, { rules: RECORD_ONLY_RULES, key: undefined, unmaskGroups: [], recordOnly: true });
      return;
    }
    const key = `gateway.connections.${i}.masking`;
    const { key: keyRef, unmaskGroups, ...ruleData } = c.masking;
    const rules = parseMaskingRules(ruleData, key);
    const secret = keyRef ? resolveSecretRef(keyRef, `${key}.key`, env) : undefined;
    try {
      // Fails now, naming the key, when a token action has no key.
      createRowMasker({ columns: [], rules, key: secret });
    } catch (e) {
      throw new PcxError('PCX_CONFIG_INVALID', `${key}: ${isPcxError(e) ? e.message : String(e)}; give masking.key: \${env:NAME}`, { key: `${key}.key` });
    }
    byName.set(c.name, { rules, key: secret, unmaskGroups, recordOnly: false });
  });

  // Keyed by the shared analysis: lineage depends on the statement's shape, not its literals,
  // so a seen shape is parsed for lineage once. Texts without an analysis are parsed per call.
  const lineages = new WeakMap<object, OutputLineage | null>();
  function lineageOf(command: string, facts: CommandFacts): OutputLineage | undefined {
    if (facts.statementType !== 'SELECT' || facts.analysis?.dialect !== 'postgres') return undefined;
    const known = lineages.get(facts.analysis);
    if (known !== undefined) return known ?? undefined;
    const l = outputLineage(command);
    lineages.set(facts.analysis, l ?? null);
    return l;
  }

  function lineageFor(command: string, facts: CommandFacts, result: ResultSet): Lineage | undefined {
    const l = lineageOf(command, facts);
    return l ? withStarColumns(l, result.columns.map((c) => c.name)) : undefined;
  }

  return {
    mask(connection, command, facts, identity, result) {
      const m = byName.get(connection);
      if (!m || result.columns.length === 0) return undefined;
      const unmaskedBy = m.unmaskGroups.find((g) => identity.groups.includes(g));
      const masker = createRowMasker({
        columns: result.columns.map((c) => c.name),
        rules: m.rules,
        lineage: m.rules.lineage ? lineageFor(command, facts, result) : undefined,
        key: m.key,
      });
      const rows: (readonly ResultValue[])[] = new Array<readonly ResultValue[]>(result.rows.length);
      for (let i = 0; i < result.rows.length; i++) rows[i] = masker.maskRow(result.rows[i] ?? []) as ResultValue[];
      const masked = { ...result, rows };
      const summary = masker.summary();
      if (m.recordOnly) return { result, recorded: masked, summary, recordOnly: true };
      // Break glass: the caller gets the raw rows; the event still records the masked ones.
      if (unmaskedBy !== undefined) return { result, recorded: masked, summary: { ...summary, unmasked: true }, unmaskedBy };
      return { result: masked, recorded: masked, summary };
    },
    maskMessage(connection, message, identity) {
      const m = byName.get(connection);
      if (!m || m.recordOnly || m.unmaskGroups.some((g) => identity.groups.includes(g))) return message;
      const masked = createRowMasker({ columns: ['message'], rules: m.rules, key: m.key }).maskRow([message])[0];
      return typeof masked === 'string' ? masked : message;
    },
  };
}

/**
 * What masking changes in the RESPONSE event: pii counts and masked fields; verdict
 * MASKED when something was masked; on break glass, risk tag `unmasked` and a reason
 * naming the group and the fields that went out raw.
 */
export function maskedEvent(ctx: EventContext, verdict: EventVerdict, m: MaskOutcome | undefined): { ctx: EventContext; verdict: EventVerdict; response: Pick<ResponseFacts, 'pii' | 'maskedFields'> } {
  if (!m) return { ctx, verdict, response: {} };
  const fields = m.summary.maskedFields;
  const response = { pii: m.summary.piiCounts, maskedFields: fields };
  // Nothing was masked for the caller: the counts describe what went out, the verdict stands.
  if (m.recordOnly) return { ctx, verdict, response };
  if (m.unmaskedBy !== undefined) {
    const reason = `unmasked: break glass by group ${m.unmaskedBy}${fields.length > 0 ? `; raw values in ${fields.join(', ')}` : ''}`;
    return {
      ctx: { ...ctx, facts: { ...ctx.facts, riskTags: [...ctx.facts.riskTags, 'unmasked'] } },
      verdict: { ...verdict, reason: verdict.reason ? `${verdict.reason}; ${reason}` : reason },
      response,
    };
  }
  if (fields.length === 0) return { ctx, verdict, response };
  const reason = `masked ${fields.join(', ')}`;
  if (verdict.action === 'allow') return { ctx, verdict: { ...verdict, action: 'masked', ruleId: verdict.ruleId || 'masking', reason }, response };
  return { ctx, verdict: { ...verdict, reason: verdict.reason ? `${verdict.reason}; ${reason}` : reason }, response };
}
