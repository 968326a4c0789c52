import type { ExprAdapter, ExprView, Scalar } from './predicate.js';

/** How node-sql-parser's expression nodes read to the constant-predicate evaluator. */
type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const CMP: Record<string, '=' | '<>' | '<' | '>' | '<=' | '>='> = { '=': '=', '<>': '<>', '!=': '<>', '<': '<', '>': '>', '<=': '<=', '>=': '>=' };
const ARITH = new Set(['+', '-', '*', '/', '%', 'DIV', 'MOD']);
const LITERAL_TYPES = new Set(['number', 'bool', 'boolean', 'null']);
const STRING_TYPES = new Set(['single_quote_string', 'double_quote_string', 'string', 'natural_string', 'hex_string', 'full_hex_string', 'bit_string', 'regex_string']);

function items(node: unknown): unknown[] {
  if (isObj(node) && node.type === 'expr_list' && Array.isArray(node.value)) return node.value;
  return [];
}

function view(node: unknown): ExprView {
  if (!isObj(node)) return { op: 'opaque' };
  const type = String(node.type ?? '');
  if (type === 'number') return { op: 'const', value: typeof node.value === 'number' ? node.value : Number(node.value) };
  if (type === 'bool' || type === 'boolean') return { op: 'const', value: node.value === true };
  if (type === 'null') return { op: 'const', value: null };
  if (STRING_TYPES.has(type)) return { op: 'const', value: String(node.value as Scalar) };
  if (type === 'param' || type === 'origin' && node.value === '?') return { op: 'param' };
  if (type === 'column_ref') return { op: 'column' };
  if (type === 'unary_expr') {
    const o = String(node.operator ?? '').toUpperCase();
    if (o === 'NOT' || o === '!') return { op: 'not', args: [node.expr] };
    if (o === '-') return { op: 'neg', args: [node.expr] };
    if (o === '+') return { op: 'cast', to: 'other', args: [node.expr] };
    return { op: 'opaque' };
  }
  if (type === 'binary_expr') {
    const o = String(node.operator ?? '').toUpperCase();
    const l = node.left;
    const r = node.right;
    if (o === 'AND' || o === '&&') return { op: 'and', args: [l, r] };
    if (o === 'OR' || o === '||') return { op: 'or', args: [l, r] };
    if (o === 'XOR') return { op: 'opaque' };
    if (Object.hasOwn(CMP, o)) return { op: 'cmp', cmp: CMP[o] as '=', args: [l, r] };
    if (o === '<=>') return { op: 'cmp', cmp: 'not_distinct', args: [l, r] };
    if (o === 'IS' || o === 'IS NOT') {
      const neg = o === 'IS NOT';
      if (isObj(r) && r.type === 'null') return { op: 'isnull', negated: neg, args: [l] };
      if (isObj(r) && (r.type === 'bool' || r.type === 'boolean')) return { op: 'booltest', test: r.value === true ? 'true' : 'false', negated: neg, args: [l] };
      return { op: 'opaque' };
    }
    if (o === 'IN' || o === 'NOT IN') {
      const list = items(r);
      return list.length > 0 ? { op: 'in', negated: o === 'NOT IN', args: [l, ...list] } : { op: 'opaque' };
    }
    if (o === 'BETWEEN' || o === 'NOT BETWEEN') {
      const [lo, hi] = items(r);
      return { op: 'between', negated: o === 'NOT BETWEEN', args: [l, lo, hi] };
    }
    if (o === 'LIKE' || o === 'NOT LIKE') return { op: 'like', negated: o === 'NOT LIKE', caseInsensitive: true, args: [l, r] };
    if (ARITH.has(o)) return { op: 'arith', arith: o === 'DIV' ? '/' : o === 'MOD' ? '%' : o, args: [l, r] };
    return { op: 'opaque' };
  }
  if (type === 'function' && isObj(node.name) && Array.isArray(node.name.name)) {
    const fn = node.name.name.map((p) => (isObj(p) ? String(p.value) : '')).join('.').toLowerCase();
    const args = items(node.args);
    if (fn === 'coalesce' || fn === 'ifnull') return { op: 'coalesce', args };
  }
  if (type === 'function' || type === 'aggr_func') {
    // Reads no column: the same value for every row, so the predicate may be always true.
    return JSON.stringify(node).includes('"column_ref"') ? { op: 'opaque' } : { op: 'param' };
  }
  if (type === 'expr_list' && Array.isArray(node.value) && node.value.length === 1) return { op: 'cast', to: 'other', args: [node.value[0]] };
  return { op: 'opaque' };
}

function sameKey(node: unknown): string | undefined {
  try {
    // Every literal becomes the same placeholder, whatever its type: the shape key does the same.
    const s = JSON.stringify(node, (_k, v: unknown) => (isObj(v) && (LITERAL_TYPES.has(String(v.type)) || STRING_TYPES.has(String(v.type))) ? 'lit' : v));
    return !s.includes('"column_ref"') || s.includes('"function"') || s.includes('"ast"') || s.includes('"param"') ? undefined : s;
  } catch {
    return undefined;
  }
}

export const mysqlExprAdapter: ExprAdapter = { view, sameKey };
