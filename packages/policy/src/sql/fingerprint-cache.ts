import { normalizeSync } from 'libpg-query';
import type { Analysis, Dialect } from './facts.js';
import { analyzeDetailed, type AnalyzeOptions } from './analyze.js';
import { checkStatementText, DEFAULT_MAX_STATEMENT_BYTES } from './input-limits.js';
import { Lru } from './lru.js';
import { scanMysql } from './mysql-lexer.js';

/**
 * Analyses cached two ways. The exact-text map answers a statement sent again verbatim
 * with one lookup. The shape map answers a statement that differs only in its literals:
 * its key is the statement with every constant replaced by a placeholder (Postgres's
 * own normalisation for postgres, a literal-free token stream for mysql), so literal
 * values never enter the key, and everything else — identifiers, aliases, prepared
 * statement names, CTE names — does. (pg_query's fingerprint ignores some of those,
 * so it is reported with the analysis but is not used as the key.) Analyses whose facts
 * depend on a literal's value (`WHERE 1=1`, a DO body) never enter the shape map.
 */
export interface AnalysisCacheOptions extends AnalyzeOptions {
  /** Distinct statement shapes kept. */
  maxShapes?: number;
  /** Distinct exact texts kept. */
  maxTexts?: number;
  /** Texts longer than this (UTF-16 units) are not kept by exact text, to bound memory. */
  maxCachedTextLength?: number;
}

export interface AnalysisCacheStats {
  textHits: number;
  shapeHits: number;
  misses: number;
  /** Misses whose analysis could not be shared by shape (literal-sensitive or unparseable). */
  unshareable: number;
  textEvictions: number;
  shapeEvictions: number;
  texts: number;
  shapes: number;
}

export class StatementAnalyzer {
  private readonly texts: Record<Dialect, Lru<string, Analysis>>;
  private readonly shapes: Record<Dialect, Lru<string, Analysis>>;
  private readonly maxCachedTextLength: number;
  private readonly analyzeOptions: AnalyzeOptions;
  private textHits = 0;
  private shapeHits = 0;
  private misses = 0;
  private unshareable = 0;

  constructor(options: AnalysisCacheOptions = {}) {
    const maxShapes = options.maxShapes ?? 10_000;
    const maxTexts = options.maxTexts ?? 10_000;
    this.texts = { postgres: new Lru(maxTexts), mysql: new Lru(maxTexts) };
    this.shapes = { postgres: new Lru(maxShapes), mysql: new Lru(maxShapes) };
    this.maxCachedTextLength = options.maxCachedTextLength ?? 8192;
    this.analyzeOptions = { maxStatementBytes: options.maxStatementBytes ?? DEFAULT_MAX_STATEMENT_BYTES };
  }

  analyze(text: string, dialect: Dialect): Analysis {
    const byText = this.texts[dialect].get(text);
    if (byText) {
      this.textHits++;
      return byText;
    }
    const cacheText = text.length <= this.maxCachedTextLength;
    // Only well-formed text of a bounded size is normalised: the checks come before any parser.
    const key = cacheText && checkStatementText(text, this.analyzeOptions.maxStatementBytes).ok ? shapeKey(text, dialect) : undefined;
    if (key !== undefined) {
      const byShape = this.shapes[dialect].get(key);
      if (byShape) {
        this.shapeHits++;
        this.texts[dialect].set(text, byShape);
        return byShape;
      }
    }
    this.misses++;
    const { analysis, literalSensitive } = analyzeDetailed(text, dialect, this.analyzeOptions);
    deepFreeze(analysis);
    if (cacheText) this.texts[dialect].set(text, analysis);
    if (key !== undefined && analysis.ok && !literalSensitive) this.shapes[dialect].set(key, analysis);
    else this.unshareable++;
    return analysis;
  }

  stats(): AnalysisCacheStats {
    return {
      textHits: this.textHits,
      shapeHits: this.shapeHits,
      misses: this.misses,
      unshareable: this.unshareable,
      textEvictions: this.texts.postgres.evictions + this.texts.mysql.evictions,
      shapeEvictions: this.shapes.postgres.evictions + this.shapes.mysql.evictions,
      texts: this.texts.postgres.size + this.texts.mysql.size,
      shapes: this.shapes.postgres.size + this.shapes.mysql.size,
    };
  }

  clear(): void {
    for (const d of ['postgres', 'mysql'] as const) {
      this.texts[d].clear();
      this.shapes[d].clear();
    }
  }
}

export function createAnalysisCache(options: AnalysisCacheOptions = {}): StatementAnalyzer {
  return new StatementAnalyzer(options);
}

function shapeKey(text: string, dialect: Dialect): string | undefined {
  if (dialect === 'mysql') return scanMysql(text).shapeKey;
  try {
    return normalizeSync(text);
  } catch {
    return undefined;
  }
}

/** Cached analyses are shared between callers, so none may change one. Iterative. */
function deepFreeze(root: object): void {
  const stack: object[] = [root];
  while (stack.length > 0) {
    const o = stack.pop() as object;
    if (Object.isFrozen(o)) continue;
    Object.freeze(o);
    for (const v of Object.values(o)) if (v !== null && typeof v === 'object') stack.push(v as object);
  }
}
