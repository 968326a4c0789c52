import { loadModule, parseSync } from 'libpg-query';
import type { Lineage, SourceColumn } from '@portcullis/masking';

await loadModule();

/**
 * Output column → source columns of a Postgres SELECT, from libpg-query's parse tree, for
 * masking through aliases and expressions (`select ssn as x`, `lower(email)`,
 * `string_agg(card_number, ',')`). Handles table aliases, joins, subqueries in FROM,
 * CTEs, set operations (by position) and `*` over a derived table. Names follow
 * Postgres's own output naming (alias, else column, else function name, else `?column?`).
 * Not resolved (the catalog is not known here): `*` over a base table (its output names
 * are the column names themselves, which column rules match directly) and which table an
 * unqualified column belongs to when several are joined (the bare column name is kept,
 * which column-name rules still match). Value detectors run on every cell regardless.
 */
type Node = Record<string, unknown>;

interface OutputCol {
  name: string;
  sources: SourceColumn[];
}

type Relation = { kind: 'table'; name: string } | { kind: 'derived'; outputs: OutputCol[] };

const MAX_DEPTH = 32;
/** Nodes visited per expression; a larger one keeps the sources found so far. */
const MAX_NODES = 20_000;

const obj = (v: unknown): Node | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Node) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const sval = (v: unknown): string | undefined => {
  const s = obj(obj(v)?.['String'])?.['sval'];
  return typeof s === 'string' ? s : undefined;
};

export interface OutputLineage {
  /** Output column → its source columns. */
  readonly columns: Lineage;
  /** Base tables a `*` expanded (their columns appear under their own names, unknown here). */
  readonly starTables: readonly string[];
}

/** Lineage of a single SELECT; undefined when the text is not one (or does not parse). */
export function outputLineage(sql: string): OutputLineage | undefined {
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return undefined;
  }
  const stmts = arr(obj(tree)?.['stmts']);
  if (stmts.length !== 1) return undefined;
  const sel = obj(obj(obj(stmts[0])?.['stmt'])?.['SelectStmt']);
  if (!sel) return undefined;
  const starTables: string[] = [];
  const outputs = selectOutputs(sel, new Map(), 0, starTables);
  if (!outputs) return undefined;
  const lineage: Lineage = {};
  for (const o of outputs) {
    const prev = Object.hasOwn(lineage, o.name) ? lineage[o.name] : undefined;
    lineage[o.name] = prev ? [...prev, ...o.sources] : o.sources;
  }
  return { columns: lineage, starTables };
}

/**
 * Completes lineage with the result's actual column names: a column no target entry
 * names came from a `*`, so it is attributed to the tables the star expanded.
 */
export function withStarColumns(l: OutputLineage, columns: readonly string[]): Lineage {
  if (l.starTables.length === 0) return l.columns;
  const out: Lineage = { ...l.columns };
  for (const c of columns) {
    if (!Object.hasOwn(out, c)) out[c] = l.starTables.map((table) => ({ table, column: c }));
  }
  return out;
}

function selectOutputs(sel: Node, outerCtes: ReadonlyMap<string, OutputCol[]>, depth: number, starTables: string[] = []): OutputCol[] | undefined {
  if (depth > MAX_DEPTH) return undefined;
  const ctes = new Map(outerCtes);
  for (const c of arr(obj(sel['withClause'])?.['ctes'])) {
    const cte = obj(obj(c)?.['CommonTableExpr']);
    const q = obj(obj(cte?.['ctequery'])?.['SelectStmt']);
    const name = cte?.['ctename'];
    if (typeof name !== 'string') continue;
    const outs = q ? selectOutputs(q, ctes, depth + 1) : undefined;
    const aliases = arr(cte?.['aliascolnames']).map(sval);
    ctes.set(name, (outs ?? []).map((o, i) => ({ name: aliases[i] ?? o.name, sources: o.sources })));
  }

  const op = sel['op'];
  if (typeof op === 'string' && op !== 'SETOP_NONE') {
    const l = obj(sel['larg']);
    const r = obj(sel['rarg']);
    const left = l ? selectOutputs(l, ctes, depth + 1, starTables) : undefined;
    if (!left) return undefined;
    const right = r ? (selectOutputs(r, ctes, depth + 1, starTables) ?? []) : [];
    return left.map((o, i) => ({ name: o.name, sources: [...o.sources, ...(right[i]?.sources ?? [])] }));
  }

  const scope = new Map<string, Relation>();
  for (const item of arr(sel['fromClause'])) addFromItem(item, scope, ctes, depth);

  const out: OutputCol[] = [];
  for (const t of arr(sel['targetList'])) {
    const rt = obj(obj(t)?.['ResTarget']);
    const val = obj(rt?.['val']);
    if (!rt || !val) continue;
    const star = starOf(val);
    if (star !== undefined) {
      for (const [alias, rel] of scope) {
        if (star !== '' && star !== alias) continue;
        if (rel.kind === 'derived') out.push(...rel.outputs);
        else starTables.push(rel.name);
      }
      continue;
    }
    const name = typeof rt['name'] === 'string' ? rt['name'] : figureName(val);
    out.push({ name, sources: sourcesOf(val, scope) });
  }
  return out;
}

function addFromItem(item: unknown, scope: Map<string, Relation>, ctes: ReadonlyMap<string, OutputCol[]>, depth: number): void {
  const n = obj(item);
  if (!n || depth > MAX_DEPTH) return;
  const rv = obj(n['RangeVar']);
  if (rv) {
    const rel = typeof rv['relname'] === 'string' ? rv['relname'] : '';
    const schema = typeof rv['schemaname'] === 'string' ? rv['schemaname'] : '';
    const alias = obj(rv['alias'])?.['aliasname'];
    const cte = !schema ? ctes.get(rel) : undefined;
    scope.set(typeof alias === 'string' ? alias : rel, cte ? { kind: 'derived', outputs: cte } : { kind: 'table', name: schema ? `${schema}.${rel}` : rel });
    return;
  }
  const join = obj(n['JoinExpr']);
  if (join) {
    addFromItem(join['larg'], scope, ctes, depth + 1);
    addFromItem(join['rarg'], scope, ctes, depth + 1);
    return;
  }
  const sub = obj(n['RangeSubselect']);
  if (sub) {
    const q = obj(obj(sub['subquery'])?.['SelectStmt']);
    const alias = obj(sub['alias']);
    const outs = q ? (selectOutputs(q, ctes, depth + 1) ?? []) : [];
    const names = arr(alias?.['colnames']).map(sval);
    const aliasName = alias?.['aliasname'];
    if (typeof aliasName === 'string') scope.set(aliasName, { kind: 'derived', outputs: outs.map((o, i) => ({ name: names[i] ?? o.name, sources: o.sources })) });
  }
}

/** `*` → '', `t.*` → 't', anything else → undefined. */
function starOf(val: Node): string | undefined {
  const fields = arr(obj(val['ColumnRef'])?.['fields']);
  const last = obj(fields[fields.length - 1]);
  if (!last || !('A_Star' in last)) return undefined;
  return fields.length >= 2 ? (sval(fields[fields.length - 2]) ?? '') : '';
}

/** Postgres's FigureColname for the common expression kinds. */
function figureName(val: Node): string {
  const col = obj(val['ColumnRef']);
  if (col) return sval(arr(col['fields']).at(-1)) ?? '?column?';
  const fn = obj(val['FuncCall']);
  if (fn) return sval(arr(fn['funcname']).at(-1)) ?? '?column?';
  const cast = obj(val['TypeCast']);
  if (cast) {
    const inner = obj(cast['arg']);
    const n = inner ? figureName(inner) : '?column?';
    return n !== '?column?' ? n : (sval(arr(obj(cast['typeName'])?.['names']).at(-1)) ?? '?column?');
  }
  if (val['CaseExpr']) return 'case';
  if (val['CoalesceExpr']) return 'coalesce';
  if (val['A_ArrayExpr']) return 'array';
  if (val['RowExpr']) return 'row';
  const mm = obj(val['MinMaxExpr']);
  if (mm) return mm['op'] === 'IS_LEAST' ? 'least' : 'greatest';
  return '?column?';
}

/** Every column an expression reads, resolved through the scope where it can be. Iterative and bounded. */
function sourcesOf(val: Node, scope: ReadonlyMap<string, Relation>): SourceColumn[] {
  const out: SourceColumn[] = [];
  const stack: unknown[] = [val];
  let visited = 0;
  while (stack.length > 0 && visited < MAX_NODES) {
    const v = stack.pop();
    visited++;
    // Children pushed in reverse, so sources come out in the order the text names them.
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(v[i]);
      continue;
    }
    const n = obj(v);
    if (!n) continue;
    const col = obj(n['ColumnRef']);
    if (col) {
      out.push(...resolve(arr(col['fields']), scope));
      continue;
    }
    const children = Object.values(n);
    for (let i = children.length - 1; i >= 0; i--) {
      const x = children[i];
      if (x !== null && typeof x === 'object') stack.push(x);
    }
  }
  return out;
}

function resolve(fields: unknown[], scope: ReadonlyMap<string, Relation>): SourceColumn[] {
  const column = sval(fields[fields.length - 1]);
  if (column === undefined) return [];
  const qualifier = fields.length >= 2 ? sval(fields[fields.length - 2]) : undefined;
  const fromRel = (rel: Relation | undefined, table?: string): SourceColumn[] => {
    if (rel?.kind === 'table') return [{ table: rel.name, column }];
    if (rel?.kind === 'derived') {
      const o = rel.outputs.find((x) => x.name === column);
      return o && o.sources.length > 0 ? o.sources : [{ column }];
    }
    return [table ? { table, column } : { column }];
  };
  if (qualifier !== undefined) return fromRel(scope.get(qualifier), qualifier);
  if (scope.size === 1) return fromRel(scope.values().next().value);
  const out: SourceColumn[] = [{ column }];
  for (const rel of scope.values()) {
    if (rel.kind !== 'derived') continue;
    const o = rel.outputs.find((x) => x.name === column);
    if (o) out.push(...o.sources);
  }
  return out;
}
