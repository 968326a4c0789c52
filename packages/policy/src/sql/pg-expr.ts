import type { ExprAdapter, ExprView, Scalar } from './predicate.js';

/** How libpg-query's expression nodes read to the constant-predicate evaluator. */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function unwrap(node: unknown): [string, Obj] | undefined {
  if (!isObj(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const k = keys[0] as string;
  const v = node[k];
  return isObj(v) ? [k, v] : undefined;
}

function constValue(c: Obj): Scalar {
  if (c.isnull === true) return null;
  if (isObj(c.ival)) return typeof c.ival.ival === 'number' ? c.ival.ival : 0;
  if (isObj(c.fval)) return Number(c.fval.fval);
  if (isObj(c.boolval)) return c.boolval.boolval === true;
  if (isObj(c.sval)) return typeof c.sval.sval === 'string' ? c.sval.sval : '';
  if (isObj(c.bsval)) return typeof c.bsval.bsval === 'string' ? c.bsval.bsval : '';
  return null;
}

function lastName(list: unknown): string {
  if (!Array.isArray(list)) return '';
  const last = unwrap(list[list.length - 1]);
  return last && last[0] === 'String' && typeof last[1].sval === 'string' ? last[1].sval : '';
}

function listItems(node: unknown): unknown[] {
  const u = unwrap(node);
  if (u && u[0] === 'List' && Array.isArray(u[1].items)) return u[1].items;
  return Array.isArray(node) ? node : [];
}

const CMP: Record<string, '=' | '<>' | '<' | '>' | '<=' | '>='> = { '=': '=', '<>': '<>', '!=': '<>', '<': '<', '>': '>', '<=': '<=', '>=': '>=' };
const ARITH = new Set(['+', '-', '*', '/', '%', '||']);
const BOOL_TYPES = new Set(['bool', 'boolean']);
const NUM_TYPES = new Set(['int2', 'int4', 'int8', 'integer', 'smallint', 'bigint', 'numeric', 'float4', 'float8', 'real', 'decimal']);
const STR_TYPES = new Set(['text', 'varchar', 'bpchar', 'name', 'char']);

/** A SELECT with no FROM, WHERE, GROUP BY, HAVING or set operation: it yields one row. */
function isBareSelect(sub: unknown): Obj | undefined {
  const u = unwrap(sub);
  if (!u || u[0] !== 'SelectStmt') return undefined;
  const s = u[1];
  if (s.fromClause || s.whereClause || s.groupClause || s.havingClause || s.larg || s.valuesLists || s.limitCount || s.limitOffset) return undefined;
  return s;
}

/** `id IN (SELECT id FROM <the target table>)` with no filter: every row with an id. */
function inSelfSubquery(testexpr: unknown, sub: Obj, target: string): boolean {
  if (sub.whereClause || sub.havingClause || sub.limitCount || sub.larg || !Array.isArray(sub.fromClause) || sub.fromClause.length !== 1) return false;
  const from = unwrap(sub.fromClause[0]);
  if (!from || from[0] !== 'RangeVar') return false;
  const fromName = [from[1].schemaname, from[1].relname].filter((p) => typeof p === 'string').join('.');
  if (fromName !== target && from[1].relname !== target.split('.').pop()) return false;
  const targets = Array.isArray(sub.targetList) ? sub.targetList : [];
  const only = targets.length === 1 ? unwrap(targets[0]) : undefined;
  const inner = only && only[0] === 'ResTarget' ? unwrap(only[1].val) : undefined;
  const outer = unwrap(testexpr);
  if (!inner || !outer || inner[0] !== 'ColumnRef' || outer[0] !== 'ColumnRef') return false;
  return lastName(inner[1].fields) !== '' && lastName(inner[1].fields) === lastName(outer[1].fields);
}

const TRUE_NODE = Object.freeze({ PcxTrue: {} });

/** The elements of `ARRAY[…]`, through casts; undefined when it is not an array literal. */
function arrayElements(node: unknown): unknown[] | undefined {
  let u = unwrap(node);
  while (u && u[0] === 'TypeCast') u = unwrap(u[1].arg);
  if (!u || u[0] !== 'A_ArrayExpr') return undefined;
  return Array.isArray(u[1].elements) ? u[1].elements : [];
}

function view(node: unknown, target: string | undefined): ExprView {
  if (node === TRUE_NODE) return { op: 'true' };
  const u = unwrap(node);
  if (!u) return { op: 'opaque' };
  const [type, b] = u;
  switch (type) {
    case 'A_Const':
      return { op: 'const', value: constValue(b) };
    case 'ParamRef':
      return { op: 'param' };
    case 'ColumnRef':
      return { op: 'column' };
    case 'BoolExpr': {
      const args = Array.isArray(b.args) ? b.args : [];
      if (b.boolop === 'AND_EXPR') return { op: 'and', args };
      if (b.boolop === 'OR_EXPR') return { op: 'or', args };
      if (b.boolop === 'NOT_EXPR' && args.length === 1) return { op: 'not', args: [args[0]] };
      return { op: 'opaque' };
    }
    case 'A_Expr': {
      const name = lastName(b.name);
      switch (b.kind) {
        case 'AEXPR_OP':
          if (b.lexpr === undefined) return name === '-' ? { op: 'neg', args: [b.rexpr] } : name === '+' ? { op: 'cast', to: 'other', args: [b.rexpr] } : { op: 'opaque' };
          if (Object.hasOwn(CMP, name)) return { op: 'cmp', cmp: CMP[name] as '=', args: [b.lexpr, b.rexpr] };
          if (ARITH.has(name)) return { op: 'arith', arith: name, args: [b.lexpr, b.rexpr] };
          if (name === '~~' || name === '!~~' || name === '~~*' || name === '!~~*') return { op: 'like', negated: name.startsWith('!'), caseInsensitive: name.endsWith('*'), args: [b.lexpr, b.rexpr] };
          return { op: 'opaque' };
        case 'AEXPR_LIKE':
        case 'AEXPR_ILIKE':
          return { op: 'like', negated: name.startsWith('!'), caseInsensitive: b.kind === 'AEXPR_ILIKE', args: [b.lexpr, b.rexpr] };
        case 'AEXPR_IN':
          return { op: 'in', negated: name === '<>', args: [b.lexpr, ...listItems(b.rexpr)] };
        case 'AEXPR_BETWEEN':
        case 'AEXPR_NOT_BETWEEN': {
          const [lo, hi] = listItems(b.rexpr);
          return { op: 'between', negated: b.kind === 'AEXPR_NOT_BETWEEN', args: [b.lexpr, lo, hi] };
        }
        case 'AEXPR_OP_ANY':
        case 'AEXPR_OP_ALL': {
          // `x = ANY(ARRAY[…])` is IN; over an empty array ANY is false and ALL is true for every row.
          const arr = arrayElements(b.rexpr);
          if (arr === undefined) return { op: 'opaque' };
          const any = b.kind === 'AEXPR_OP_ANY';
          if (arr.length === 0) return any ? { op: 'not', args: [TRUE_NODE] } : { op: 'true' };
          if (any && name === '=') return { op: 'in', negated: false, args: [b.lexpr, ...arr] };
          if (!any && name === '<>') return { op: 'in', negated: true, args: [b.lexpr, ...arr] };
          return { op: 'opaque' };
        }
        case 'AEXPR_DISTINCT':
          return { op: 'cmp', cmp: 'distinct', args: [b.lexpr, b.rexpr] };
        case 'AEXPR_NOT_DISTINCT':
          return { op: 'cmp', cmp: 'not_distinct', args: [b.lexpr, b.rexpr] };
        default:
          return { op: 'opaque' };
      }
    }
    case 'NullTest':
      return { op: 'isnull', negated: b.nulltesttype === 'IS_NOT_NULL', args: [b.arg] };
    case 'BooleanTest': {
      const t = String(b.booltesttype ?? '');
      const test = t.endsWith('TRUE') ? 'true' : t.endsWith('FALSE') ? 'false' : 'unknown';
      return { op: 'booltest', test, negated: t.includes('_NOT_'), args: [b.arg] };
    }
    case 'TypeCast': {
      const tn = isObj(b.typeName) ? lastName(b.typeName.names) : '';
      const to = BOOL_TYPES.has(tn) ? 'bool' : NUM_TYPES.has(tn) ? 'num' : STR_TYPES.has(tn) ? 'str' : 'other';
      return { op: 'cast', to, args: [b.arg] };
    }
    case 'CoalesceExpr':
      return { op: 'coalesce', args: Array.isArray(b.args) ? b.args : [] };
    case 'CaseExpr': {
      if (b.arg !== undefined || !Array.isArray(b.args)) return { op: 'opaque' };
      const args: unknown[] = [];
      for (const w of b.args) {
        const cw = unwrap(w);
        if (!cw || cw[0] !== 'CaseWhen') return { op: 'opaque' };
        args.push(cw[1].expr, cw[1].result);
      }
      if (b.defresult !== undefined) args.push(b.defresult);
      return { op: 'case', hasElse: b.defresult !== undefined, args };
    }
    case 'FuncCall':
    case 'SQLValueFunction':
      // A call that reads no column yields the same value for every row (random() aside,
      // which is no better): the predicate is then all rows or none, so it may be always true.
      return JSON.stringify(b).includes('"ColumnRef"') ? { op: 'opaque' } : { op: 'param' };
    case 'SubLink': {
      const bare = isBareSelect(b.subselect);
      const sub = unwrap(b.subselect);
      if (!bare && b.subLinkType === 'EXISTS_SUBLINK' && sub && !sub[1].whereClause && !sub[1].havingClause && !sub[1].limitCount) {
        // EXISTS over a whole table does not depend on the row being filtered.
        return { op: 'param' };
      }
      if (!bare && b.subLinkType === 'ANY_SUBLINK' && sub && target !== undefined && inSelfSubquery(b.testexpr, sub[1], target)) return { op: 'true' };
      if (!bare) return { op: 'opaque' };
      if (b.subLinkType === 'EXISTS_SUBLINK') return { op: 'true' };
      const targets = Array.isArray(bare.targetList) ? bare.targetList : [];
      const only = targets.length === 1 ? unwrap(targets[0]) : undefined;
      if (b.subLinkType === 'EXPR_SUBLINK' && only && only[0] === 'ResTarget') return { op: 'cast', to: 'other', args: [only[1].val] };
      return { op: 'opaque' };
    }
    default:
      return { op: 'opaque' };
  }
}

/** Literal values and locations are left out so the key is shared across a statement's shape. */
function sameKey(node: unknown): string | undefined {
  try {
    const s = JSON.stringify(node, (k, v: unknown) => (k === 'location' ? undefined : k === 'A_Const' ? 'const' : v));
    // Only row-dependent expressions can be "the same" on both sides: two literals are two
    // unknowns once literals are stripped, so they must not compare equal here.
    return !s.includes('"ColumnRef"') || s.includes('"FuncCall"') || s.includes('"SubLink"') || s.includes('"ParamRef"') ? undefined : s;
  } catch {
    return undefined;
  }
}

/** The adapter for one statement; `target` is the table it deletes from or updates, if any. */
export function pgExprAdapter(target?: string): ExprAdapter {
  return { view: (node) => view(node, target), sameKey };
}
