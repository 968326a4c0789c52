import { createHash } from 'node:crypto';
import { fingerprintSync } from 'libpg-query';
import type { Analysis, Dialect } from './facts.js';
import { checkStatementText, DEFAULT_MAX_STATEMENT_BYTES } from './input-limits.js';
import { analyzeMysql } from './mysql-analyzer.js';
import { analyzePostgres } from './pg-analyzer.js';

export interface AnalyzeOptions {
  /** Statements longer than this many UTF-8 bytes are refused before parsing. */
  maxStatementBytes?: number;
}

/** Analysis plus what the shape cache needs to know about it. */
export interface DetailedAnalysis {
  analysis: Analysis;
  /** Facts depend on literal values: share this analysis only with the identical text. */
  literalSensitive: boolean;
}

/** One statement-analysis interface over both dialects. Never throws on any input. */
export function analyzeSql(text: string | Uint8Array, dialect: Dialect, options: AnalyzeOptions = {}): Analysis {
  return analyzeDetailed(text, dialect, options).analysis;
}

export function analyzeDetailed(input: string | Uint8Array, dialect: Dialect, options: AnalyzeOptions = {}): DetailedAnalysis {
  const checked = checkStatementText(input, options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES);
  if (!checked.ok) return { analysis: { ok: false, dialect, error: checked.error }, literalSensitive: true };
  const text = checked.text;
  try {
    if (dialect === 'postgres') {
      const r = analyzePostgres(text);
      if (!r.ok) return { analysis: { ok: false, dialect, error: r.error }, literalSensitive: true };
      return {
        analysis: { ok: true, dialect, statements: r.statements, fingerprint: fingerprintSync(text), isMultiStatement: r.statements.length > 1 },
        literalSensitive: r.literalSensitive,
      };
    }
    const r = analyzeMysql(text);
    if (!r.ok) return { analysis: { ok: false, dialect, error: r.error }, literalSensitive: true };
    return {
      analysis: { ok: true, dialect, statements: r.statements, fingerprint: mysqlFingerprint(r.shapeKey, r.ast), isMultiStatement: r.statements.length > 1 },
      literalSensitive: r.literalSensitive,
    };
  } catch (e) {
    // A parser fault on hostile input is an unparseable statement, never a crash of the gateway.
    const message = e instanceof RangeError ? 'statement is nested too deeply to analyse; simplify the expression' : `statement could not be analysed: ${e instanceof Error ? e.message : String(e)}`;
    return { analysis: { ok: false, dialect, error: { code: 'PCX_SQL_UNPARSEABLE', message } }, literalSensitive: true };
  }
}

/** A hash of the literal-free token stream, or of the AST with literal values blanked. */
export function mysqlFingerprint(shapeKey: string | undefined, ast: unknown): string {
  const basis = shapeKey ?? JSON.stringify(ast, (k, v: unknown) => (k === 'value' && typeof v !== 'object' ? '?' : v));
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}
