import nodeSqlParser from 'node-sql-parser';
import type { AnalysisError, RiskTag, StatementFacts, StatementKind } from './facts.js';
import { FactsBuilder } from './facts-builder.js';
import { mysqlExprAdapter } from './mysql-expr.js';
import { scanMysql } from './mysql-lexer.js';
import { evaluatePredicate } from './predicate.js';
import { functionRisk } from './risk-functions.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const parser = new nodeSqlParser.Parser();
const OPTIONS = { database: 'mysql' };

export type MysqlParseResult =
  | { ok: true; statements: StatementFacts[]; literalSensitive: boolean; shapeKey: string | undefined; ast: unknown }
  | { ok: false; error: AnalysisError };

/** MySQL identifiers are compared case-insensitively here: a rule on `Users` must catch `users`. */
const ident = (s: unknown): string => String(s).toLowerCase();

function tableName(ref: Obj): string | undefined {
  if (typeof ref.table !== 'string') return undefined;
  return [ref.db, ref.table].filter((p) => typeof p === 'string' && p !== '').map(ident).join('.');
}

const SETTINGS_PARSER = new Set(['sql_mode']);

function classify(ast: Obj): { kind: StatementKind; write: boolean; tags: RiskTag[] } {
  const type = String(ast.type ?? '');
  const keyword = String(ast.keyword ?? '').toLowerCase();
  switch (type) {
    case 'select': {
      const into = isObj(ast.into) ? String(ast.into.keyword ?? '').toLowerCase() : '';
      if (into === 'outfile' || into === 'dumpfile') return { kind: 'select', write: true, tags: ['file_access'] };
      return { kind: 'select', write: false, tags: [] };
    }
    case 'insert':
    case 'replace':
      return { kind: 'insert', write: true, tags: [] };
    case 'update':
      return { kind: 'update', write: true, tags: [] };
    case 'delete':
      return { kind: 'delete', write: true, tags: [] };
    case 'create':
      if (keyword === 'user' || keyword === 'role') return { kind: 'role', write: true, tags: JSON.stringify(ast).includes('"identified"') ? ['role_change', 'password_change'] : ['role_change'] };
      if (keyword === 'function' || keyword === 'procedure' || keyword === 'trigger') return { kind: 'ddl_create', write: true, tags: ['function_definition', 'ddl'] };
      return { kind: 'ddl_create', write: true, tags: ['ddl'] };
    case 'alter':
      return keyword === 'user' ? { kind: 'role', write: true, tags: ['role_change'] } : { kind: 'ddl_alter', write: true, tags: ['ddl'] };
    case 'rename':
      return { kind: 'ddl_alter', write: true, tags: ['ddl'] };
    case 'drop':
      return keyword === 'user' || keyword === 'role' ? { kind: 'role', write: true, tags: ['role_change', 'drop'] } : { kind: 'ddl_drop', write: true, tags: ['drop', 'ddl'] };
    case 'truncate':
      return { kind: 'truncate', write: true, tags: ['truncate'] };
    case 'grant':
      return { kind: 'grant', write: true, tags: ['privilege_change'] };
    case 'revoke':
      return { kind: 'revoke', write: true, tags: ['privilege_change'] };
    case 'load_data':
      // LOCAL reads a file on the client, which is the gateway's own host.
      return { kind: 'load_data', write: true, tags: ['file_access'] };
    case 'set': {
      const tags: RiskTag[] = [];
      for (const e of Array.isArray(ast.expr) ? ast.expr : []) {
        const name = isObj(e) && isObj(e.left) ? ident(e.left.name) : '';
        if (name === 'password') tags.push('password_change', 'role_change');
        if (SETTINGS_PARSER.has(name)) tags.push('parser_setting');
      }
      return { kind: 'set', write: false, tags };
    }
    case 'show':
    case 'desc':
      return { kind: 'show', write: false, tags: [] };
    case 'use':
      return { kind: 'other', write: false, tags: [] };
    case 'lock':
    case 'unlock':
      return { kind: 'lock', write: false, tags: ['lock'] };
    case 'call':
      return { kind: 'call', write: true, tags: [] };
    case 'transaction':
      return { kind: 'transaction', write: false, tags: [] };
    default:
      return { kind: 'other', write: true, tags: [] };
  }
}

function parseError(e: unknown): AnalysisError {
  if (e instanceof RangeError) return { code: 'PCX_SQL_UNPARSEABLE', message: 'statement is nested too deeply to analyse; simplify the expression' };
  const message = e instanceof Error ? e.message : String(e);
  const loc = isObj(e) && isObj(e.location) && isObj(e.location.start) ? e.location.start.offset : undefined;
  return { code: 'PCX_SQL_UNPARSEABLE', message: `statement does not parse as MySQL: ${message.slice(0, 300)}`, ...(typeof loc === 'number' ? { position: loc } : {}) };
}

/** Parses with node-sql-parser after refusing what it would read differently from the server. */
export function analyzeMysql(text: string): MysqlParseResult {
  const scan = scanMysql(text);
  if (scan.refusal) return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: scan.refusal.message, position: scan.refusal.position } };
  if (scan.shapeKey === '' || /^[\s;]*$/.test(text)) return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: 'empty statement: the text holds no SQL, only whitespace or comments' } };
  let ast: unknown;
  try {
    ast = parser.astify(text, OPTIONS);
  } catch (e) {
    return { ok: false, error: parseError(e) };
  }
  const list = (Array.isArray(ast) ? ast : [ast]).filter(isObj);
  if (list.length === 0) return { ok: false, error: { code: 'PCX_SQL_UNPARSEABLE', message: 'empty statement: the text holds no SQL' } };
  const ctx = { literalSensitive: false };
  const statements = list.map((s) => {
    const root = walk(s, ctx);
    if (list.length > 1) root.tag('multi_statement');
    return FactsBuilder.finish(root);
  });
  return { ok: true, statements, literalSensitive: ctx.literalSensitive, shapeKey: scan.shapeKey, ast };
}

interface Frame {
  node: unknown;
  key: string;
  owner: FactsBuilder;
  role: 'read' | 'write';
}

/** Iterative visit of one statement's AST: every table, column, function and subquery. */
function walk(stmt: Obj, ctx: { literalSensitive: boolean }): FactsBuilder {
  const root = new FactsBuilder('other', String(stmt.type ?? 'unknown'));
  open(root, stmt, ctx);
  const cteNames = new Set<string>();
  const stack: Frame[] = [];
  const pushChildren = (node: Obj, owner: FactsBuilder, stmtNode: boolean): void => {
    for (const [k, v] of Object.entries(node)) {
      if (v === null || typeof v !== 'object') continue;
      const type = String(node.type ?? '');
      const written = stmtNode && ((k === 'table' && ['insert', 'replace', 'update', 'delete', 'create', 'alter', 'truncate', 'rename', 'load_data'].includes(type)) || (k === 'name' && ['drop', 'truncate'].includes(type)));
      stack.push({ node: v, key: k, owner, role: written ? 'write' : 'read' });
    }
  };
  pushChildren(stmt, root, true);
  while (stack.length > 0) {
    const f = stack.pop() as Frame;
    const { node } = f;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push({ ...f, node: node[i] });
      continue;
    }
    if (!isObj(node)) continue;
    let owner = f.owner;
    let stmtNode = false;
    if (f.key === 'with' || (isObj(node.name) && isObj(node.stmt))) {
      if (isObj(node.name) && typeof node.name.value === 'string') cteNames.add(ident(node.name.value));
    }
    if (f.key === 'ast' || (f.key === 'values' && node.type === 'select') || (f.key === 'expr' && isObj(node.ast))) {
      // A subquery: part of this statement unless it writes (MySQL has no such subquery today).
      const t = String(node.type ?? '');
      if (f.key === 'ast' && t !== 'select' && t !== '') {
        owner = new FactsBuilder('other', t, f.owner);
        open(owner, node, ctx);
        stmtNode = true;
      }
    }
    if (typeof node.table === 'string' && ('db' in node || 'as' in node)) {
      const name = tableName(node);
      if (name) {
        if (f.role === 'write') {
          owner.tablesWritten.add(name);
          if (owner.kind.startsWith('ddl_') || owner.kind === 'truncate') owner.object('table', name);
        } else owner.tablesRead.add(name);
      }
    }
    if (node.type === 'column_ref' && node.column !== undefined) {
      const col = typeof node.column === 'string' ? node.column : isObj(node.column) && isObj(node.column.expr) ? String(node.column.expr.value) : undefined;
      const table = typeof node.table === 'string' ? node.table : isObj(node.table) ? String(node.table.value) : undefined;
      if (col !== undefined) owner.columns.add([table, col].filter((p) => p !== undefined && p !== null).map(ident).join('.'));
    }
    if (node.type === 'function' && isObj(node.name)) {
      const parts = Array.isArray(node.name.name) ? node.name.name.map((p) => (isObj(p) ? ident(p.value) : '')) : [];
      const schema = isObj(node.name.schema) ? [ident(node.name.schema.value)] : [];
      recordCall([...schema, ...parts].join('.'), owner);
    }
    if (node.type === 'aggr_func' && typeof node.name === 'string') owner.functions.add(ident(node.name));
    pushChildren(node, owner, stmtNode);
  }
  for (const cte of cteNames) root.tablesRead.delete(cte);
  // node-sql-parser repeats a DELETE's target in its FROM list; it is written, not read.
  if (root.kind === 'delete') for (const t of root.tablesWritten) root.tablesRead.delete(t);
  return root;
}

function recordCall(name: string, f: FactsBuilder): void {
  if (!name) return;
  f.functions.add(name);
  const risk = functionRisk('mysql', name);
  if (!risk) return;
  f.tag(...risk.tags);
  if (risk.writes) f.isWrite = true;
}

function open(f: FactsBuilder, ast: Obj, ctx: { literalSensitive: boolean }): void {
  const c = classify(ast);
  f.kind = c.kind;
  f.nodeType = String(ast.type ?? 'unknown');
  if (c.write) f.isWrite = true;
  f.tag(...c.tags);
  const type = String(ast.type ?? '');
  if (type === 'select' || type === 'update' || type === 'delete') {
    f.hasWhere = ast.where !== null && ast.where !== undefined;
    if (f.hasWhere) {
      const v = evaluatePredicate(ast.where, mysqlExprAdapter);
      f.whereAlwaysTrue = v.alwaysTrue;
      if (v.literalSensitive) ctx.literalSensitive = true;
    }
    if (type !== 'select') {
      if (!f.hasWhere) f.tag('no_where');
      if (f.whereAlwaysTrue) f.tag('where_always_true');
    }
    f.hasLimit = isObj(ast.limit) && Array.isArray(ast.limit.value) && ast.limit.value.length > 0;
  }
  if (type === 'load_data' && isObj(ast.table)) {
    const name = tableName(ast.table);
    if (name) f.tablesWritten.add(name);
  }
  if (type === 'drop' || type === 'create' || type === 'alter' || type === 'rename' || type === 'truncate') {
    const objType = String(ast.keyword ?? 'table').toLowerCase() || 'table';
    const refs = [ast.name, ast.table].flat(2).filter(isObj);
    for (const r of refs) {
      const name = tableName(r);
      if (name) f.object(objType, name);
    }
    for (const e of Array.isArray(ast.expr) ? ast.expr : []) {
      if (isObj(e) && e.action === 'rename' && typeof e.table === 'string') f.object('table', ident(e.table));
    }
  }
  if (type === 'grant' && isObj(ast.on) && Array.isArray(ast.on.priv_level)) {
    for (const p of ast.on.priv_level) if (isObj(p)) f.object('table', [p.prefix, p.name].filter((x) => typeof x === 'string').map(ident).join('.'));
  }
}
