import { allStatements, type Analysis } from './facts.js';

/** The command fields of an AccessEvent, as the gateway records them. */
export interface CommandFacts {
  fingerprint: string;
  /** The statement's kind; `multi` for several statements; `unparseable` / `too_large` on error. */
  statementType: string;
  tables: string[];
  isWrite: boolean;
  hasWhere: boolean;
  hasLimit: boolean;
  riskTags: string[];
}

export function toCommandFacts(analysis: Analysis): CommandFacts {
  if (!analysis.ok) {
    const tooLarge = analysis.error.code === 'PCX_PAYLOAD_TOO_LARGE';
    return { fingerprint: '', statementType: tooLarge ? 'too_large' : 'unparseable', tables: [], isWrite: false, hasWhere: false, hasLimit: false, riskTags: [tooLarge ? 'too_large' : 'unparseable'] };
  }
  const top = analysis.statements;
  const tables = new Set<string>();
  const tags = new Set<string>();
  for (const s of allStatements(top)) {
    for (const t of s.tablesRead) tables.add(t);
    for (const t of s.tablesWritten) tables.add(t);
    for (const t of s.riskTags) tags.add(t);
  }
  return {
    fingerprint: analysis.fingerprint,
    statementType: top.length === 1 ? (top[0]?.kind ?? 'other') : 'multi',
    tables: [...tables].sort(),
    isWrite: top.some((s) => s.isWrite),
    // A multi-statement string "has a WHERE" only if every statement that could take one does.
    hasWhere: top.every((s) => s.hasWhere || !['select', 'update', 'delete', 'merge'].includes(s.kind)) && top.some((s) => s.hasWhere),
    hasLimit: top.every((s) => s.hasLimit || s.kind !== 'select') && top.some((s) => s.hasLimit),
    riskTags: [...tags].sort(),
  };
}
