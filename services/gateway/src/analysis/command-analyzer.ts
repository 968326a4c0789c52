import type { Analysis, Dialect } from '@portcullis/policy';

/** Facts about a command that go into its events and that policy can use. */
export interface CommandFacts {
  /** The command with literals replaced by `?` and whitespace collapsed. */
  readonly fingerprint: string;
  /** Upper-case statement kind (SELECT, INSERT, …); for several statements, the kinds joined by `;`. */
  readonly statementType: string;
  readonly tables: readonly string[];
  readonly isWrite: boolean;
  readonly hasWhere: boolean;
  readonly hasLimit: boolean;
  readonly riskTags: readonly string[];
  /** False when the statement could not be parsed (or the analyzer fell back to a keyword guess). */
  readonly parsed: boolean;
  /** The policy package's analysis the facts came from; guardrails judge it. Absent from other analyzers. */
  readonly analysis?: Analysis;
}

/**
 * The seam for SQL analysis. The gateway's default is PolicyAnalyzer (packages/policy:
 * libpg-query for postgres, node-sql-parser for mysql, cached by statement shape).
 */
export interface CommandAnalyzer {
  analyze(command: string, dialect?: Dialect): CommandFacts;
}

const WRITE_KEYWORDS = new Set([
  'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'UPSERT', 'REPLACE', 'CREATE', 'ALTER', 'DROP', 'TRUNCATE',
  'GRANT', 'REVOKE', 'COPY', 'VACUUM', 'REINDEX', 'CLUSTER', 'COMMENT', 'SECURITY', 'REFRESH', 'IMPORT', 'LOCK', 'CALL', 'DO',
]);

export function isWriteKeyword(kind: string): boolean {
  return WRITE_KEYWORDS.has(kind.toUpperCase());
}

/**
 * Literal-stripping fingerprint without a parser: comments dropped; quoted strings,
 * dollar-quoted bodies and numbers become `?`; lists of `?` collapse to one; keywords and
 * identifiers lower-cased; whitespace collapsed. Quoted identifiers are kept as written.
 */
export function fingerprintOf(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, '?')
    .replace(/[eEbBxXuU]?'(?:[^']|'')*'/g, '?')
    .replace(/("(?:[^"]|"")*")|(\$\d+)|([A-Za-z_][\w$]*)|(-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)/g, (_m, quoted: string | undefined, param: string | undefined, word: string | undefined) =>
      quoted ?? param ?? (word !== undefined ? word.toLowerCase() : '?'),
    )
    .replace(/\s+/g, ' ')
    .replace(/\?(?:\s*,\s*\?)+/g, '?')
    .replace(/\s*;\s*$/, '')
    .trim();
}

/** The first keyword of a command, skipping comments and opening parentheses. */
export function firstKeyword(sql: string): string {
  const m = /^(?:\s|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()*([A-Za-z]+)/.exec(sql);
  return (m?.[1] ?? '').toUpperCase();
}
