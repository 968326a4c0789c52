import nsp from 'node-sql-parser/build/postgresql.js';
import { fingerprintOf, firstKeyword, isWriteKeyword, type CommandAnalyzer, type CommandFacts } from './command-analyzer.js';

const PARSE_OPTIONS = { database: 'postgresql' } as const;

interface StatementAst {
  type?: string;
  where?: unknown;
  limit?: { value?: unknown[] } | null;
}

/**
 * node-sql-parser (PostgreSQL grammar) with a keyword fallback: what it cannot parse
 * (VACUUM, DO blocks, vendor syntax) still gets a statement type and a write flag from
 * its first keyword, and is marked `parsed: false` so policy can treat it with care.
 * Results are cached per text because agents repeat the same commands.
 */
export class SqlParserAnalyzer implements CommandAnalyzer {
  private readonly parser = new nsp.Parser();
  private readonly cache = new Map<string, CommandFacts>();

  constructor(private readonly cacheSize = 1000) {}

  analyze(command: string): CommandFacts {
    const hit = this.cache.get(command);
    if (hit) return hit;
    const facts = this.compute(command);
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next();
      if (!oldest.done) this.cache.delete(oldest.value);
    }
    this.cache.set(command, facts);
    return facts;
  }

  private compute(command: string): CommandFacts {
    const fingerprint = fingerprintOf(command);
    try {
      const r = this.parser.parse(command, PARSE_OPTIONS);
      const statements = (Array.isArray(r.ast) ? r.ast : [r.ast]) as StatementAst[];
      const types = statements.map((s) => (s.type ?? '').toUpperCase());
      const tables = [...new Set(r.tableList.map(tableName))];
      return Object.freeze({
        fingerprint,
        statementType: types.join(';'),
        tables: Object.freeze(tables),
        isWrite: types.some(isWriteKeyword),
        hasWhere: statements.every((s) => s.where !== undefined && s.where !== null),
        hasLimit: statements.every((s) => Array.isArray(s.limit?.value) && s.limit.value.length > 0),
        riskTags: Object.freeze(statements.length > 1 ? ['multi_statement'] : []),
        parsed: true,
      });
    } catch {
      const kind = firstKeyword(command);
      return Object.freeze({
        fingerprint,
        statementType: kind,
        tables: Object.freeze(guessTables(command)),
        isWrite: isWriteKeyword(kind),
        hasWhere: /\bwhere\b/i.test(command),
        hasLimit: /\blimit\b/i.test(command),
        riskTags: Object.freeze(['unparsed']),
        parsed: false,
      });
    }
  }
}

/** `select::public::users` → `public.users`; `select::null::users` → `users`. */
function tableName(entry: string): string {
  const [, schema, table] = entry.split('::');
  return schema && schema !== 'null' ? `${schema}.${table ?? ''}` : (table ?? entry);
}

/** Without a parse tree, the names after FROM / JOIN / INTO / UPDATE / TABLE are the best guess. */
function guessTables(command: string): string[] {
  const out = new Set<string>();
  for (const m of command.matchAll(/\b(?:from|join|into|update|table)\s+((?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?)/gi)) {
    if (m[1]) out.add(m[1].replace(/"/g, ''));
  }
  return [...out];
}
