import { createAnalysisCache, toCommandFacts, type Analysis, type AnalysisCacheOptions, type Dialect, type StatementAnalyzer } from '@portcullis/policy';
import { fingerprintOf, type CommandAnalyzer, type CommandFacts } from './command-analyzer.js';

/** Unparseable text gets the regex fingerprint (so attempts still group); beyond this length, none. */
const MAX_FALLBACK_FINGERPRINT_CHARS = 16 * 1024;

/**
 * The policy package's statement analysis behind the gateway's analyzer seam: one parse
 * per statement shape (the policy cache answers repeats by exact text, then by shape),
 * and the event facts derived once per analysis (a WeakMap on the shared, frozen analysis),
 * so a seen shape costs two lookups.
 */
export class PolicyAnalyzer implements CommandAnalyzer {
  private readonly cache: StatementAnalyzer;
  private readonly facts = new WeakMap<Analysis, CommandFacts>();

  constructor(options: AnalysisCacheOptions = {}) {
    this.cache = createAnalysisCache(options);
  }

  analyze(command: string, dialect: Dialect = 'postgres'): CommandFacts {
    const analysis = this.cache.analyze(command, dialect);
    let f = this.facts.get(analysis);
    if (!f) {
      f = gatewayFacts(analysis, command);
      // Unparseable analyses are per text, so their text-derived fingerprint may be kept with them.
      this.facts.set(analysis, f);
    }
    return f;
  }

  stats(): ReturnType<StatementAnalyzer['stats']> {
    return this.cache.stats();
  }
}

/** The policy's event facts in the gateway's shape: statement types upper-case, as events have always carried them. */
export function gatewayFacts(analysis: Analysis, command: string): CommandFacts {
  const c = toCommandFacts(analysis);
  const fingerprint = c.fingerprint || (!analysis.ok && analysis.error.code === 'PCX_SQL_UNPARSEABLE' && command.length <= MAX_FALLBACK_FINGERPRINT_CHARS ? fingerprintOf(command) : '');
  return Object.freeze({
    fingerprint,
    statementType: c.statementType.toUpperCase(),
    tables: Object.freeze(c.tables),
    isWrite: c.isWrite,
    hasWhere: c.hasWhere,
    hasLimit: c.hasLimit,
    riskTags: Object.freeze(c.riskTags),
    parsed: analysis.ok,
    analysis,
  });
}
