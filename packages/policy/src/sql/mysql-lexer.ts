/**
 * A MySQL token scan that finds what node-sql-parser and the server would read
 * differently, and the statement's shape: its tokens with every literal replaced by `?`.
 *
 * node-sql-parser drops `/*! … *\/` as a comment, but MySQL executes it; it reads `--x` as
 * a comment where MySQL reads minus minus x. Either would let a statement run something
 * the analysis never saw, so both are refused before parsing.
 */
export interface MysqlScan {
  /** Why the text cannot be analysed faithfully, if it cannot. */
  refusal?: { message: string; position: number };
  /** Literal-free token stream; undefined when the scan is not sure of a token boundary. */
  shapeKey?: string;
}

const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/;

export function scanMysql(text: string): MysqlScan {
  const tokens: string[] = [];
  let sure = true;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const ch = text[i] as string;
    const next = text[i + 1];
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '\v') {
      i++;
      continue;
    }
    if (ch === '#' || (ch === '-' && next === '-' && (i + 2 >= n || /\s/.test(text[i + 2] as string)))) {
      const eol = text.indexOf('\n', i);
      i = eol < 0 ? n : eol + 1;
      continue;
    }
    if (ch === '-' && next === '-') {
      return { refusal: { message: "'--' not followed by a space is two minus signs to MySQL but a comment to the analyser; add a space or parentheses", position: i } };
    }
    if (ch === '/' && next === '*') {
      if (text[i + 2] === '!' || (text[i + 2] === 'M' && text[i + 3] === '!')) {
        return { refusal: { message: 'MySQL executable comments (/*! … */) run on the server but are invisible to the analyser; write the SQL without them', position: i } };
      }
      const end = text.indexOf('*/', i + 2);
      if (end < 0) return { refusal: { message: 'unterminated /* comment', position: i } };
      i = end + 2;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') {
      let j = i + 1;
      for (;;) {
        if (j >= n) return { refusal: { message: `unterminated ${ch === '`' ? 'quoted identifier' : 'string literal'}`, position: i } };
        const c = text[j];
        if (c === '\\' && ch !== '`') {
          // Backslash escapes depend on the server's sql_mode; do not share shapes across them.
          sure = false;
          j += 2;
          continue;
        }
        if (c === ch) {
          if (text[j + 1] === ch) {
            j += 2;
            continue;
          }
          break;
        }
        j++;
      }
      // Only single-quoted strings are always literals; a double-quoted one is an identifier
      // to node-sql-parser in some positions (and under ANSI_QUOTES), so it stays in the key.
      tokens.push(ch === "'" ? '?' : ch === '`' ? text.slice(i, j + 1).toLowerCase() : text.slice(i, j + 1));
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(ch) || (ch === '.' && next !== undefined && /[0-9]/.test(next))) {
      let j = i + 1;
      while (j < n && /[0-9A-Za-z_.]/.test(text[j] as string)) {
        if ((text[j] === 'e' || text[j] === 'E') && (text[j + 1] === '+' || text[j + 1] === '-')) j++;
        j++;
      }
      tokens.push('?');
      i = j;
      continue;
    }
    if (IDENT.test(ch)) {
      let j = i + 1;
      while (j < n && IDENT.test(text[j] as string)) j++;
      tokens.push(text.slice(i, j).toLowerCase());
      i = j;
      continue;
    }
    if ((ch === '|' && next === '|') || (ch === '&' && next === '&')) {
      // `||` is OR to MySQL unless sql_mode says concatenation, and node-sql-parser binds it
      // tighter than `=`: `id = 5 || 1` would be judged as one comparison but run as `… OR 1`.
      return { refusal: { message: `'${ch}${ch}' is ambiguous in MySQL (it depends on sql_mode); write ${ch === '|' ? 'OR or CONCAT()' : 'AND'} instead`, position: i } };
    }
    // A bind placeholder is not a literal: keep it apart from `?`.
    tokens.push(ch === '?' ? '¿' : ch);
    i++;
  }
  return sure ? { shapeKey: tokens.join(' ') } : {};
}
