import { PcxError, type Secret } from '@portcullis/common';
import { applyAction, type MaskAction } from './actions.js';
import { isCardNumber } from './detectors/card.js';
import type { Lineage } from './lineage.js';
import { maskText } from './mask-text.js';
import { compileColumnRules, detectorPlan, parseMaskingRules, ruleForColumn, type CompiledColumnRule, type MaskingRules, type MaskingRulesInput } from './rules.js';

export interface RowMaskerOptions {
  /** Output column names, in row order. */
  columns: readonly string[];
  /** Validated rules (parseMaskingRules) or raw rules data, validated here. */
  rules: MaskingRules | MaskingRulesInput;
  /** Output column → source columns, from the SQL analyser; absent when unknown. */
  lineage?: Lineage | undefined;
  /** HMAC key for `token` actions; required when any rule tokenises. */
  key?: Secret | undefined;
  /** Break glass: values pass through unchanged but are still counted. */
  unmask?: boolean;
}

export interface MaskSummary {
  /** Sensitive values seen, per detector (or column rule label). Never values. */
  piiCounts: Record<string, number>;
  /** Output columns in which at least one value was masked (or, when unmasked, would have been). */
  maskedFields: string[];
  rows: number;
  /** True when values passed through unmasked (break glass); the caller records who and why. */
  unmasked: boolean;
}

export interface RowMasker {
  maskRow(values: readonly unknown[]): unknown[];
  summary(): MaskSummary;
}

/** JSON columns arrive parsed; deeper nesting than this is replaced, not walked. */
const MAX_DEPTH = 32;

interface ColumnPlan {
  name: string;
  rule: CompiledColumnRule | undefined;
}

function usesToken(rules: MaskingRules): boolean {
  const isToken = (a: unknown) => typeof a === 'object' && a !== null && (a as MaskAction).kind === 'token';
  return isToken(rules.defaultAction) || rules.columns.some((c) => isToken(c.action)) || Object.values(rules.detectors).some(isToken);
}

function isValidated(rules: MaskingRules | MaskingRulesInput): rules is MaskingRules {
  return Array.isArray(rules.columns) && typeof rules.defaultAction === 'object' && typeof rules.lineage === 'boolean' && typeof rules.detectors === 'object';
}

/** Text form of a scalar for column-rule actions; objects become JSON so nothing leaks by toString. */
function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? '' : v.toISOString();
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  try {
    return JSON.stringify(v) ?? '';
  } catch {
    return '';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Masks a result set row by row. Column rules (by name, or by lineage to a source column)
 * replace the whole cell; every other cell is scanned by the value detectors. Nothing is
 * buffered beyond the current row, and the summary holds only counts and column names.
 */
export function createRowMasker(options: RowMaskerOptions): RowMasker {
  const rules = isValidated(options.rules) ? options.rules : parseMaskingRules(options.rules);
  if (usesToken(rules) && !options.key) {
    throw new PcxError('PCX_CONFIG_INVALID', 'masking: a token action needs a key', { key: 'masking' });
  }
  const key = options.key;
  const unmask = options.unmask === true;
  const compiled = compileColumnRules(rules);
  const { enabled, actions } = detectorPlan(rules);
  const plans: ColumnPlan[] = options.columns.map((name) => ({ name, rule: ruleForColumn(compiled, name, options.lineage, rules.lineage)?.rule }));
  const counts = new Map<string, number>();
  const masked = new Set<number>();
  let rows = 0;

  const count = (label: string, n = 1) => counts.set(label, (counts.get(label) ?? 0) + n);

  const scanText = (text: string, hint: string | undefined): { value: string; found: boolean } => {
    const r = maskText(text, { hint, enabled, actions, key, unmask });
    for (const s of r.spans) count(s.detector);
    return { value: r.text, found: r.spans.length > 0 };
  };

  /** Value-detector pass over any cell; returns the replacement and whether anything was found. */
  const scanValue = (v: unknown, hint: string | undefined, depth: number): { value: unknown; found: boolean } => {
    if (typeof v === 'string') return scanText(v, hint);
    if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 1e6)) {
      // Cards and SSNs stored as numeric: scan the digits; a numeric card is also caught without separators.
      const digits = typeof v === 'bigint' ? v.toString() : v.toFixed(0);
      if (enabled.has('card') && isCardNumber(digits.replace(/^-/, ''))) {
        count('card');
        return { value: unmask ? v : applyAction(actions.get('card') as MaskAction, 'card', digits, key), found: true };
      }
      const r = scanText(digits, hint);
      return r.found && !unmask ? r : { value: v, found: r.found };
    }
    if (depth >= MAX_DEPTH) return { value: v, found: false };
    if (Array.isArray(v)) {
      let found = false;
      const out = v.map((x) => {
        const r = scanValue(x, hint, depth + 1);
        found ||= r.found;
        return r.value;
      });
      return { value: found && !unmask ? out : v, found };
    }
    if (isPlainObject(v)) {
      let found = false;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        // A JSON key is a column name too: `{"ssn": "…"}` meets the same column rules.
        const rule = x === null || x === undefined ? undefined : compiled.find((r) => r.matchesName(k));
        if (rule) {
          count(rule.label);
          found = true;
          out[k] = unmask ? x : applyAction(rule.action, rule.label, scalarText(x), key);
          continue;
        }
        const r = scanValue(x, k, depth + 1);
        found ||= r.found;
        out[k] = r.value;
      }
      return { value: found && !unmask ? out : v, found };
    }
    return { value: v, found: false };
  };

  return {
    maskRow(values) {
      rows++;
      const out = new Array<unknown>(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (v === null || v === undefined) {
          out[i] = v;
          continue;
        }
        const plan = plans[i];
        const rule = plan?.rule;
        if (rule) {
          count(rule.label);
          masked.add(i);
          out[i] = unmask ? v : applyAction(rule.action, rule.label, scalarText(v), key);
          continue;
        }
        const r = scanValue(v, plan?.name, 0);
        if (r.found) masked.add(i);
        out[i] = r.value;
      }
      return out;
    },
    summary() {
      const piiCounts: Record<string, number> = {};
      for (const [k, n] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) piiCounts[k] = n;
      const maskedFields = [...masked].sort((a, b) => a - b).map((i) => options.columns[i] ?? `#${i}`);
      return { piiCounts, maskedFields, rows, unmasked: unmask };
    },
  };
}

