import { emptyFacts, type ObjectRef, type RiskTag, type StatementFacts, type StatementKind } from './facts.js';

/**
 * Collects one statement's facts while a tree is walked, de-duplicating as it goes, and
 * rolls nested statements' tables, columns and functions up into their parents so a
 * rule on the outer statement sees everything it runs.
 */
export class FactsBuilder {
  readonly tablesRead = new Set<string>();
  readonly tablesWritten = new Set<string>();
  readonly columns = new Set<string>();
  readonly functions = new Set<string>();
  readonly objects = new Map<string, ObjectRef>();
  readonly tags = new Set<RiskTag>();
  readonly children: FactsBuilder[] = [];
  isWrite = false;
  writesInCte = false;
  hasWhere = false;
  whereAlwaysTrue = false;
  hasLimit = false;
  copyProgram = false;
  copyFile = false;

  constructor(
    public kind: StatementKind,
    public nodeType: string,
    readonly parent: FactsBuilder | undefined = undefined,
  ) {
    parent?.children.push(this);
  }

  object(type: string, name: string): void {
    this.objects.set(`${type}\u0000${name}`, { type, name });
  }

  tag(...tags: RiskTag[]): void {
    for (const t of tags) this.tags.add(t);
  }

  /** Turns the builder tree into plain facts, children first, without recursion. */
  static finish(root: FactsBuilder): StatementFacts {
    const order: FactsBuilder[] = [];
    const stack = [root];
    while (stack.length > 0) {
      const b = stack.pop() as FactsBuilder;
      order.push(b);
      for (const c of b.children) stack.push(c);
    }
    const done = new Map<FactsBuilder, StatementFacts>();
    for (let i = order.length - 1; i >= 0; i--) {
      const b = order[i] as FactsBuilder;
      const f = emptyFacts(b.kind, b.nodeType);
      for (const c of b.children) {
        const cf = done.get(c) as StatementFacts;
        f.nested.push(cf);
        for (const t of cf.tablesRead) b.tablesRead.add(t);
        for (const t of cf.tablesWritten) b.tablesWritten.add(t);
        for (const t of cf.columns) b.columns.add(t);
        for (const t of cf.functions) b.functions.add(t);
        for (const o of cf.objects) b.object(o.type, o.name);
        for (const t of cf.riskTags) if (ROLL_UP_TAGS.has(t)) b.tags.add(t);
        if (cf.isWrite) b.isWrite = true;
        if (cf.copyProgram) b.copyProgram = true;
        if (cf.copyFile) b.copyFile = true;
      }
      if (b.isWrite) b.tags.add('write');
      f.tablesRead = [...b.tablesRead].sort();
      f.tablesWritten = [...b.tablesWritten].sort();
      f.columns = [...b.columns].sort();
      f.functions = [...b.functions].sort();
      f.objects = [...b.objects.values()];
      f.isWrite = b.isWrite;
      f.writesInCte = b.writesInCte;
      f.hasWhere = b.hasWhere;
      f.whereAlwaysTrue = b.whereAlwaysTrue;
      f.hasLimit = b.hasLimit;
      f.copyProgram = b.copyProgram;
      f.copyFile = b.copyFile;
      f.riskTags = [...b.tags].sort();
      done.set(b, f);
    }
    return done.get(root) as StatementFacts;
  }
}

/**
 * Tags that describe what running the outer statement does (so they propagate up);
 * tags like no_where describe one statement's own clause and stay with it.
 */
const ROLL_UP_TAGS = new Set<RiskTag>([
  'write',
  'ddl',
  'drop',
  'truncate',
  'write_in_cte',
  'privilege_change',
  'role_change',
  'password_change',
  'file_access',
  'program_execution',
  'large_object',
  'network',
  'dynamic_sql',
  'code_block',
  'function_definition',
  'system_config',
  'parser_setting',
  'session_setting',
  'admin_function',
  'sleep',
  'load_library',
]);
