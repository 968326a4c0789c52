import { loadModule, parsePlPgSQLSync, parseSync } from 'libpg-query';
import type { AnalysisError, StatementFacts } from './facts.js';
import { FactsBuilder } from './facts-builder.js';
import { pgExprAdapter } from './pg-expr.js';
import { classify, isObj, nameOf, type Obj, optionArg, rangeVarName, recordObjects, unwrap } from './pg-statements.js';
import { evaluatePredicate } from './predicate.js';
import { functionRisk } from './risk-functions.js';

// The WASM module loads once per process, when this module is first imported, so that
// every analysis after it is synchronous.
await loadModule();

export interface PgStatements {
  ok: true;
  statements: StatementFacts[];
  /** Some fact depends on a literal's value, so statements of the same shape may differ. */
  literalSensitive: boolean;
}

export type PgParseResult = PgStatements | { ok: false; error: AnalysisError };

const DML = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);
/** Fields whose RangeVar is the statement's target rather than something it reads. */
const TARGET_FIELDS = new Set(['relation', 'relations', 'view', 'sequence', 'table', 'rel', 'into', 'intoClause']);
/** Fields holding a statement that runs as part of this one. */
const CARRIED_QUERY_FIELDS = new Set(['query', 'actions', 'sql_body', 'ctequery', 'stmts']);
/** How deep DO / function bodies may nest inside each other (via a body that creates a function). */
const MAX_BODY_DEPTH = 3;

interface Frame {
  node: unknown;
  key: string;
  owner: FactsBuilder;
  target: boolean;
  inCte: boolean;
  depth: number;
}

/** Parses with Postgres's own grammar and turns the tree into facts. Never throws. */
export function analyzePostgres(text: string): PgParseResult {
  let parsed: { stmts?: Array<{ stmt?: unknown; stmt_location?: number; stmt_len?: number }> };
  try {
    parsed = parseSync(text) as typeof parsed;
  } catch (e) {
    return { ok: false, error: parseError(e) };
  }
  const raw = parsed.stmts ?? [];
  if (raw.length === 0) return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: 'empty statement: the text holds no SQL, only whitespace or comments' } };
  const ctx: WalkContext = { literalSensitive: false, builders: [], cteNames: new Set() };
  const statements: StatementFacts[] = [];
  for (const r of raw) {
    const start = r.stmt_location ?? 0;
    const stmtText = r.stmt_len ? text.slice(start, start + r.stmt_len) : text.slice(start);
    ctx.builders = [];
    ctx.cteNames = new Set();
    const root = walkStatement(r.stmt, stmtText, ctx, undefined, 0);
    if (raw.length > 1) root.tag('multi_statement');
    for (const b of ctx.builders) for (const cte of ctx.cteNames) b.tablesRead.delete(cte);
    statements.push(FactsBuilder.finish(root));
  }
  return { ok: true, statements, literalSensitive: ctx.literalSensitive };
}

interface WalkContext {
  literalSensitive: boolean;
  builders: FactsBuilder[];
  cteNames: Set<string>;
}

function parseError(e: unknown): AnalysisError {
  if (e instanceof RangeError) return { code: 'PCX_SQL_UNPARSEABLE', message: 'statement is nested too deeply to analyse; simplify the expression' };
  const message = e instanceof Error ? e.message : String(e);
  const details = isObj(e) && isObj(e.sqlDetails) ? e.sqlDetails : undefined;
  const position = details && typeof details.cursorPosition === 'number' ? details.cursorPosition : undefined;
  if (/memory exhausted|stack depth/i.test(message)) return { code: 'PCX_SQL_UNPARSEABLE', message: `statement is nested too deeply to parse (${message}); simplify the expression`, ...(position !== undefined ? { position } : {}) };
  return { code: 'PCX_SQL_UNPARSEABLE', message: `statement does not parse as Postgres SQL: ${message}`, ...(position !== undefined ? { position } : {}) };
}

/**
 * Visits every node under one statement with an explicit stack, so a function call or a
 * data-modifying statement hidden anywhere (a subquery, a CTE, a RETURNING list, an
 * EXPLAIN target, a rule action) is seen, and no depth can overflow the call stack.
 */
function walkStatement(stmt: unknown, stmtText: string, ctx: WalkContext, parent: FactsBuilder | undefined, bodyDepth: number): FactsBuilder {
  const top = new FactsBuilder('other', 'unknown', parent);
  ctx.builders.push(top);
  const stack: Frame[] = [{ node: stmt, key: '', owner: top, target: false, inCte: false, depth: 0 }];
  let first = true;
  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    const { node } = f;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ ...f, node: node[i] });
      continue;
    }
    if (!isObj(node)) continue;
    const u = unwrap(node);
    const type = u ? u[0] : inferType(f.key, node);
    const body = u ? u[1] : node;
    let owner = f.owner;
    let target = f.target;
    let inCte = f.inCte;

    if (type.endsWith('Stmt')) {
      if (first) {
        first = false;
        openStatement(type, body, owner, ctx, stmtText, bodyDepth);
      } else if (type !== 'SelectStmt' || CARRIED_QUERY_FIELDS.has(f.key) && !inCte) {
        owner = new FactsBuilder('other', type, owner);
        ctx.builders.push(owner);
        openStatement(type, body, owner, ctx, stmtText, bodyDepth);
        if (DML.has(type) && inCte) {
          f.owner.writesInCte = true;
          f.owner.tag('write_in_cte');
          top.writesInCte = true;
          top.tag('write_in_cte');
        }
      }
      target = false;
      inCte = false;
    } else if (type === 'CommonTableExpr') {
      if (typeof body.ctename === 'string') ctx.cteNames.add(body.ctename);
      inCte = true;
    } else if (type === 'RangeVar') {
      const name = rangeVarName(body);
      if (target) {
        if (owner.isWrite) owner.tablesWritten.add(name);
        else owner.tablesRead.add(name);
      } else owner.tablesRead.add(name);
    } else if (type === 'FuncCall') {
      recordCall(body, owner, ctx);
    } else if (type === 'ColumnRef') {
      const name = nameOf((Array.isArray(body.fields) ? body.fields : []).map((x) => (unwrap(x)?.[0] === 'A_Star' ? { String: { sval: '*' } } : x)));
      if (name) owner.columns.add(name);
    }

    for (const [k, v] of Object.entries(body)) {
      if (v === null || typeof v !== 'object') continue;
      const childTarget = type.endsWith('Stmt') ? TARGET_FIELDS.has(k) && isTargetField(type, body) : target && (k === 'rel' || k === 'relation' || k === 'items' || k === 'RangeVar');
      stack.push({ node: v, key: k, owner, target: childTarget, inCte, depth: f.depth + 1 });
    }
  }
  return top;
}

/** A COPY names its source table as `relation` but only writes it when copying FROM. */
function isTargetField(type: string, body: Obj): boolean {
  if (type === 'CopyStmt') return body.is_from === true;
  return type !== 'SelectStmt' || body.intoClause !== undefined;
}

/** Nodes that libpg-query emits without a type wrapper, known by the field that holds them. */
function inferType(key: string, node: Obj): string {
  if (typeof node.relname === 'string') return 'RangeVar';
  if (key === 'funccall') return 'FuncCall';
  if (key === 'setstmt') return 'VariableSetStmt';
  if (key === 'withClause') return 'WithClause';
  return key;
}

function openStatement(type: string, body: Obj, f: FactsBuilder, ctx: WalkContext, stmtText: string, bodyDepth: number): void {
  const c = classify(type, body);
  f.kind = c.kind;
  f.nodeType = type;
  if (c.write) f.isWrite = true;
  f.tag(...c.tags);
  if (c.kind.startsWith('ddl_') || c.kind === 'truncate' || c.kind === 'grant' || c.kind === 'revoke' || c.kind === 'role' || c.kind === 'lock' || c.kind === 'maintenance' || type === 'CreateTableAsStmt') recordObjects(type, body, f);
  if (type === 'CopyStmt') {
    f.copyProgram = body.is_program === true;
    f.copyFile = body.is_program !== true && typeof body.filename === 'string';
  }
  if (type === 'UpdateStmt' || type === 'DeleteStmt' || type === 'SelectStmt' || type === 'MergeStmt') {
    const where = type === 'MergeStmt' ? body.joinCondition : body.whereClause;
    f.hasWhere = where !== undefined;
    if (where !== undefined) {
      const v = evaluatePredicate(where, pgExprAdapter(isObj(body.relation) ? rangeVarName(body.relation) : undefined));
      f.whereAlwaysTrue = v.alwaysTrue;
      if (v.literalSensitive) ctx.literalSensitive = true;
    }
    if (type !== 'SelectStmt') {
      if (!f.hasWhere) f.tag('no_where');
      if (f.whereAlwaysTrue) f.tag('where_always_true');
    }
    // The LIMIT clause counts whatever its value, so the fact holds for every statement of this shape.
    f.hasLimit = body.limitCount !== undefined;
  }
  if (type === 'DoStmt') analyzeBody(optionArg(body.args, 'language'), optionArg(body.args, 'as'), f, ctx, stmtText, bodyDepth);
  if (type === 'CreateFunctionStmt') analyzeBody(optionArg(body.options, 'language'), optionArg(body.options, 'as'), f, ctx, stmtText, bodyDepth);
}

function recordCall(body: Obj, f: FactsBuilder, ctx: WalkContext): void {
  const name = nameOf(body.funcname);
  if (!name) return;
  f.functions.add(name);
  const risk = functionRisk('postgres', name);
  if (!risk) return;
  f.tag(...risk.tags);
  if (risk.writes) f.isWrite = true;
  if (name.endsWith('set_config')) {
    // set_config('role', …) is SET ROLE by another name. Its first argument is a literal
    // the shape cache strips, so this verdict is not shared across literal values.
    ctx.literalSensitive = true;
    const first = Array.isArray(body.args) ? unwrap(body.args[0]) : undefined;
    const setting = first && first[0] === 'A_Const' && isObj(first[1].sval) ? String(first[1].sval.sval).toLowerCase() : undefined;
    if (setting === undefined || setting === 'role' || setting === 'session_authorization') f.tag('role_change');
    if (setting !== undefined && ['standard_conforming_strings', 'backslash_quote'].includes(setting)) f.tag('parser_setting');
  }
}

/**
 * Parses the body of a DO block or a function so the statements it would run are judged
 * too. Bodies are string literals to the shape cache, hence literal-sensitive.
 */
function analyzeBody(language: unknown, as: unknown, f: FactsBuilder, ctx: WalkContext, stmtText: string, bodyDepth: number): void {
  ctx.literalSensitive = true;
  if (bodyDepth >= MAX_BODY_DEPTH) return;
  const lang = (nameOf(language) ?? 'plpgsql').toLowerCase();
  const source = nameOf(Array.isArray(as) ? as[0] : unwrap(as)?.[0] === 'List' ? (unwrap(as)?.[1].items as unknown[] | undefined)?.[0] : as);
  const queries: string[] = [];
  if (lang === 'sql' && source) queries.push(source);
  else if (lang === 'plpgsql') {
    try {
      collectPlpgsqlQueries(parsePlPgSQLSync(stmtText), queries, f);
    } catch {
      f.tag('dynamic_sql');
    }
  } else f.tag('dynamic_sql');
  for (const q of queries) {
    try {
      const parsed = parseSync(q) as { stmts?: Array<{ stmt?: unknown }> };
      for (const s of parsed.stmts ?? []) walkStatement(s.stmt, q, ctx, f, bodyDepth + 1);
    } catch {
      // A body expression that is not a statement on its own (an assignment target, say).
    }
  }
}

/** Every SQL statement and expression a PL/pgSQL body would run, found without recursion. */
function collectPlpgsqlQueries(tree: unknown, out: string[], f: FactsBuilder): void {
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const n = stack.pop();
    if (Array.isArray(n)) {
      for (const x of n) stack.push(x);
      continue;
    }
    if (!isObj(n)) continue;
    for (const [k, v] of Object.entries(n)) {
      if (k === 'PLpgSQL_stmt_dynexecute' || k === 'PLpgSQL_stmt_dynfors') f.tag('dynamic_sql');
      if (k === 'PLpgSQL_expr' && isObj(v) && typeof v.query === 'string') {
        out.push(v.parseMode === 0 || v.parseMode === undefined ? v.query : `SELECT ${v.query}`);
      }
      if (v !== null && typeof v === 'object') stack.push(v);
    }
  }
}
