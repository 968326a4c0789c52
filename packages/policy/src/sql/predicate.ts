/**
 * Decides whether a WHERE clause is always true (`1=1`, `'a'='a'`, `NOT false`, `x = x`,
 * `… OR true`, `'1' IS NOT NULL`, `EXISTS (SELECT 1)`), for either dialect: each parser
 * supplies a view of its expression nodes and this evaluates them, iteratively, so a
 * predicate nested thousands deep cannot overflow the stack.
 *
 * Each expression evaluates to a concrete constant, or to the set of truth values it may
 * take: T, F, N (null) and U (depends on the row). "Always true" is conservative: a
 * predicate that MAY be true for every row (a bind parameter used as a boolean) counts.
 *
 * The evaluation runs twice: once with the literals' real values and once with every
 * literal unknown. When the second run says the outcome depends on the literals, the
 * statement's facts are literal-sensitive and must not be shared by the shape cache
 * with another statement that differs only in its literals (`WHERE 1=1` vs `WHERE 1=0`).
 */
export type Scalar = null | boolean | number | string;

export type ExprView =
  | { op: 'const'; value: Scalar }
  | { op: 'param' }
  | { op: 'column' }
  | { op: 'and' | 'or' | 'coalesce'; args: unknown[] }
  | { op: 'not' | 'neg'; args: [unknown] }
  | { op: 'cmp'; cmp: '=' | '<>' | '<' | '>' | '<=' | '>=' | 'distinct' | 'not_distinct'; args: [unknown, unknown] }
  | { op: 'isnull'; negated: boolean; args: [unknown] }
  | { op: 'booltest'; test: 'true' | 'false' | 'unknown'; negated: boolean; args: [unknown] }
  | { op: 'arith'; arith: string; args: [unknown, unknown] }
  | { op: 'in'; negated: boolean; args: unknown[] }
  | { op: 'between'; negated: boolean; args: [unknown, unknown, unknown] }
  | { op: 'like'; negated: boolean; caseInsensitive: boolean; args: [unknown, unknown] }
  | { op: 'cast'; to: 'bool' | 'num' | 'str' | 'other'; args: [unknown] }
  | { op: 'case'; hasElse: boolean; args: unknown[] }
  | { op: 'true' }
  | { op: 'opaque' };

export interface ExprAdapter {
  view(node: unknown): ExprView;
  /** A literal-free, location-free key; equal keys mean the same expression. Undefined when volatile. */
  sameKey(node: unknown): string | undefined;
}

const T = 1;
const F = 2;
const N = 4;
const U = 8;
const ANY_CONST = T | F | N;

type V = { c: true; v: Scalar } | { c: false; set: number; key?: string | undefined };

const row = (key?: string): V => ({ c: false, set: U, key });
const constOf = (v: Scalar): V => ({ c: true, v });
const fromSet = (set: number): V => (set === T ? constOf(true) : set === F ? constOf(false) : set === N ? constOf(null) : { c: false, set });

function parseBool(s: string): boolean | undefined {
  const t = s.trim().toLowerCase();
  if (['t', 'true', 'y', 'yes', 'on', '1'].includes(t)) return true;
  if (['f', 'false', 'n', 'no', 'off', '0'].includes(t)) return false;
  return undefined;
}

function truth(v: V): number {
  if (!v.c) return v.set;
  if (v.v === null) return N;
  if (typeof v.v === 'boolean') return v.v ? T : F;
  if (typeof v.v === 'string') {
    const b = parseBool(v.v);
    return b === undefined ? U : b ? T : F;
  }
  // MySQL treats a non-zero number as true; Postgres rejects it, so the statement fails anyway.
  return v.v !== 0 ? T : F;
}

function each(a: number, b: number, f: (x: number, y: number) => number): number {
  let out = 0;
  for (const x of [T, F, N, U]) if (a & x) for (const y of [T, F, N, U]) if (b & y) out |= f(x, y);
  return out;
}
const and2 = (x: number, y: number): number => (x === F || y === F ? F : x === T ? y : y === T ? x : x === N && y === N ? N : U);
const or2 = (x: number, y: number): number => (x === T || y === T ? T : x === F ? y : y === F ? x : x === N && y === N ? N : U);
const not1 = (x: number): number => (x === T ? F : x === F ? T : x);

function num(v: Scalar): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

function compare(cmp: string, a: Scalar, b: Scalar): Scalar {
  if (cmp === 'distinct' || cmp === 'not_distinct') {
    const same = a === null || b === null ? a === b : compare('=', a, b) === true;
    return cmp === 'distinct' ? !same : same;
  }
  if (a === null || b === null) return null;
  const na = num(a);
  const nb = num(b);
  const useNum = na !== undefined && nb !== undefined && (typeof a !== 'string' || typeof b !== 'string');
  const [x, y] = useNum ? [na, nb] : [String(a), String(b)];
  switch (cmp) {
    case '=': return x === y;
    case '<>': return x !== y;
    case '<': return (x as number) < (y as number);
    case '>': return (x as number) > (y as number);
    case '<=': return (x as number) <= (y as number);
    case '>=': return (x as number) >= (y as number);
    default: return null;
  }
}

function likeToRegExp(pattern: string, ci: boolean): RegExp {
  let src = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) src += (pattern[++i] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (ch === '%') src += '[\\s\\S]*';
    else if (ch === '_') src += '[\\s\\S]';
    else src += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${src}$`, ci ? 'i' : '');
}

function combine(view: ExprView, vals: V[], keys: Array<string | undefined>): V {
  const a = vals[0] as V;
  const b = vals[1] as V;
  switch (view.op) {
    case 'and':
    case 'or': {
      let set = view.op === 'and' ? T : F;
      for (const v of vals) set = each(set, truth(v), view.op === 'and' ? and2 : or2);
      // `e IS NULL OR e IS NOT NULL` covers every row.
      if (view.op === 'or' && set !== T) {
        const nullTests = new Map<string, number>();
        for (const v of vals) if (!v.c && v.key?.startsWith('isnull:')) nullTests.set(v.key.slice(9), (nullTests.get(v.key.slice(9)) ?? 0) | (v.key[7] === '1' ? 2 : 1));
        for (const m of nullTests.values()) if (m === 3) set = T;
      }
      return fromSet(set);
    }
    case 'not':
      return fromSet(each(truth(a), T, (x) => not1(x)));
    case 'neg':
      return a.c ? (num(a.v) === undefined ? row() : constOf(-(num(a.v) as number))) : a.set === U ? row() : { c: false, set: ANY_CONST };
    case 'cmp': {
      if (a.c && b.c) return constOf(compare(view.cmp, a.v, b.v));
      const [ka, kb] = keys;
      if (ka !== undefined && ka === kb) {
        // The same expression on both sides: true for every row (null rows aside, which a
        // destructive statement's author rarely means to spare).
        return constOf(['=', '<=', '>=', 'not_distinct'].includes(view.cmp));
      }
      if ((!a.c && a.set & U) || (!b.c && b.set & U)) return row();
      return { c: false, set: ANY_CONST };
    }
    case 'isnull': {
      if (a.c) return constOf((a.v === null) !== view.negated);
      if (a.set === U) return { c: false, set: U, key: keys[0] === undefined ? undefined : `isnull:${view.negated ? 1 : 0}:${keys[0]}` };
      return { c: false, set: T | F };
    }
    case 'booltest': {
      const t = truth(a);
      const f = (x: number): number => {
        if (x === U) return U;
        const hit = view.test === 'true' ? x === T : view.test === 'false' ? x === F : x === N;
        return hit !== view.negated ? T : F;
      };
      return fromSet(each(t, T, (x) => f(x)));
    }
    case 'arith': {
      if (a.c && b.c) {
        if (a.v === null || b.v === null) return constOf(null);
        if (view.arith === '||' || view.arith === 'concat') return constOf(String(a.v) + String(b.v));
        const x = num(a.v);
        const y = num(b.v);
        if (x === undefined || y === undefined) return row();
        const r = view.arith === '+' ? x + y : view.arith === '-' ? x - y : view.arith === '*' ? x * y : view.arith === '/' && y !== 0 ? x / y : view.arith === '%' && y !== 0 ? x % y : undefined;
        return r === undefined ? row() : constOf(r);
      }
      return (!a.c && a.set & U) || (!b.c && b.set & U) ? row() : { c: false, set: ANY_CONST };
    }
    case 'in': {
      let set = F;
      for (const item of vals.slice(1)) {
        const eq = a.c && item.c ? truth(constOf(compare('=', a.v, item.v))) : (!a.c && a.set & U) || (!item.c && item.set & U) ? U : ANY_CONST;
        set = each(set, eq, or2);
      }
      return fromSet(view.negated ? each(set, T, (x) => not1(x)) : set);
    }
    case 'between': {
      const c = vals[2] as V;
      const lo = a.c && b.c ? truth(constOf(compare('>=', a.v, b.v))) : (!a.c && a.set & U) || (!b.c && b.set & U) ? U : ANY_CONST;
      const hi = a.c && c.c ? truth(constOf(compare('<=', a.v, c.v))) : (!a.c && a.set & U) || (!c.c && c.set & U) ? U : ANY_CONST;
      const set = each(lo, hi, and2);
      return fromSet(view.negated ? each(set, T, (x) => not1(x)) : set);
    }
    case 'like': {
      if (a.c && b.c) {
        if (a.v === null || b.v === null) return constOf(null);
        return constOf(likeToRegExp(String(b.v), view.caseInsensitive).test(String(a.v)) !== view.negated);
      }
      return (!a.c && a.set & U) || (!b.c && b.set & U) ? row() : { c: false, set: ANY_CONST };
    }
    case 'cast': {
      if (!a.c) return a.set & U ? row() : { c: false, set: ANY_CONST };
      if (a.v === null) return a;
      if (view.to === 'bool') {
        const t = truth(a);
        return t === T ? constOf(true) : t === F ? constOf(false) : row();
      }
      if (view.to === 'num') return num(a.v) === undefined ? row() : constOf(num(a.v) as number);
      if (view.to === 'str') return constOf(typeof a.v === 'boolean' ? (a.v ? 'true' : 'false') : String(a.v));
      return a;
    }
    case 'coalesce': {
      for (const v of vals) {
        if (v.c && v.v !== null) return v;
        if (!v.c) return v.set & U ? row() : { c: false, set: ANY_CONST };
      }
      return constOf(null);
    }
    case 'case': {
      // Pairs of (condition, result), then the ELSE result if any.
      const pairs = Math.floor((vals.length - (view.hasElse ? 1 : 0)) / 2);
      let possible = 0;
      let decided = false;
      for (let i = 0; i < pairs && !decided; i++) {
        const cond = truth(vals[2 * i] as V);
        if (cond & T) possible |= truth(vals[2 * i + 1] as V);
        if (cond === T) decided = true;
        if (cond & U) possible |= U;
      }
      if (!decided) possible |= view.hasElse ? truth(vals[vals.length - 1] as V) : N;
      return fromSet(possible);
    }
    default:
      return row();
  }
}

interface Frame {
  node: unknown;
  view: ExprView;
  children: unknown[];
  vals: V[];
  keys: Array<string | undefined>;
}

function childrenOf(view: ExprView): unknown[] {
  return 'args' in view ? view.args : [];
}

function leaf(view: ExprView, symbolic: boolean): V | undefined {
  switch (view.op) {
    case 'const':
      return symbolic ? { c: false, set: ANY_CONST } : constOf(view.value);
    case 'param':
      return { c: false, set: ANY_CONST };
    case 'column':
    case 'opaque':
      return row();
    case 'true':
      return constOf(true);
    default:
      return undefined;
  }
}

function evaluate(root: unknown, adapter: ExprAdapter, symbolic: boolean): V {
  const needsKey = (v: ExprView): boolean => v.op === 'cmp' || v.op === 'isnull';
  const stack: Frame[] = [];
  const push = (node: unknown): V | undefined => {
    const view = adapter.view(node);
    const l = leaf(view, symbolic);
    if (l) return l;
    stack.push({ node, view, children: childrenOf(view), vals: [], keys: [] });
    return undefined;
  };
  let result = push(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Frame;
    if (top.vals.length < top.children.length) {
      const child = top.children[top.vals.length];
      const v = push(child);
      if (v) {
        top.vals.push(v);
        top.keys.push(needsKey(top.view) && !v.c ? adapter.sameKey(child) : undefined);
      }
      continue;
    }
    stack.pop();
    const v = combine(top.view, top.vals, top.keys);
    const parent = stack[stack.length - 1];
    if (parent) {
      parent.vals.push(v);
      parent.keys.push(needsKey(parent.view) && !v.c ? adapter.sameKey(top.node) : undefined);
    } else result = v;
  }
  return result as V;
}

export interface PredicateVerdict {
  alwaysTrue: boolean;
  /** The verdict would differ for other literal values: do not share it across a shape. */
  literalSensitive: boolean;
}

export function evaluatePredicate(where: unknown, adapter: ExprAdapter): PredicateVerdict {
  const actual = truth(evaluate(where, adapter, false));
  const symbolic = truth(evaluate(where, adapter, true));
  return { alwaysTrue: (actual & T) !== 0, literalSensitive: (symbolic & T) !== 0 && symbolic !== T };
}
