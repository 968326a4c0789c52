/**
 * The facts one statement yields, whatever parser produced them. Guardrails, approval
 * rules and the command fields of an AccessEvent are all functions of these facts, never
 * of the statement text, so a string literal or a comment can never trigger a rule.
 */
export type Dialect = 'postgres' | 'mysql';

export type StatementKind =
  | 'select'
  | 'insert'
  | 'update'
  | 'delete'
  | 'merge'
  | 'ddl_create'
  | 'ddl_alter'
  | 'ddl_drop'
  | 'truncate'
  | 'grant'
  | 'revoke'
  | 'role'
  | 'copy'
  | 'load_data'
  | 'call'
  | 'do'
  | 'set'
  | 'show'
  | 'transaction'
  | 'explain'
  | 'prepare'
  | 'execute'
  | 'deallocate'
  | 'lock'
  | 'maintenance'
  | 'load_library'
  | 'cursor'
  | 'other';

/**
 * Stable names for what makes a statement risky. They travel in events (risk_tags) and
 * rules match on them, so renaming one is a breaking change.
 */
export type RiskTag =
  | 'write'
  | 'ddl'
  | 'drop'
  | 'truncate'
  | 'no_where'
  | 'where_always_true'
  | 'write_in_cte'
  | 'multi_statement'
  | 'privilege_change'
  | 'role_change'
  | 'password_change'
  | 'file_access'
  | 'program_execution'
  | 'large_object'
  | 'network'
  | 'dynamic_sql'
  | 'code_block'
  | 'function_definition'
  | 'explain_analyze'
  | 'select_into'
  | 'lock'
  | 'maintenance'
  | 'system_config'
  | 'parser_setting'
  | 'session_setting'
  | 'admin_function'
  | 'sleep'
  | 'load_library'
  | 'executable_comment';

/** An object named by DDL, GRANT or a role statement: what the statement creates, alters or drops. */
export interface ObjectRef {
  /** Lower-case object type: table, view, index, schema, function, role, database, … */
  type: string;
  /** Schema-qualified when the statement qualifies it; identifiers as the dialect folds them. */
  name: string;
}

export interface StatementFacts {
  kind: StatementKind;
  /** The parser's own node type: `DeleteStmt`, `CreateTableAsStmt` (postgres); `delete`, `load_data` (mysql). */
  nodeType: string;
  tablesRead: string[];
  tablesWritten: string[];
  columns: string[];
  /** Schema-qualified when the text qualifies them; as the dialect folds identifiers. */
  functions: string[];
  /** Objects created, altered, dropped, granted on or commented on. */
  objects: ObjectRef[];
  isWrite: boolean;
  writesInCte: boolean;
  hasWhere: boolean;
  whereAlwaysTrue: boolean;
  hasLimit: boolean;
  copyProgram: boolean;
  copyFile: boolean;
  riskTags: RiskTag[];
  /**
   * Statements this one runs or carries: data-modifying CTEs, the target of EXPLAIN and
   * PREPARE, CREATE TABLE AS / RULE actions, the bodies of DO blocks and functions.
   * Each is judged by the guardrails as a statement of its own.
   */
  nested: StatementFacts[];
}

export type AnalysisErrorCode = 'PCX_SQL_UNPARSEABLE' | 'PCX_PAYLOAD_TOO_LARGE';

export interface AnalysisError {
  code: AnalysisErrorCode;
  message: string;
  /** 0-based character offset in the text, when the parser gives one. */
  position?: number;
}

export type Analysis =
  | {
      ok: true;
      dialect: Dialect;
      statements: StatementFacts[];
      /** Literals stripped: pg_query's fingerprint for postgres, a hash of the literal-free token stream for mysql. */
      fingerprint: string;
      isMultiStatement: boolean;
    }
  | { ok: false; dialect: Dialect; error: AnalysisError };

export function emptyFacts(kind: StatementKind, nodeType: string): StatementFacts {
  return {
    kind,
    nodeType,
    tablesRead: [],
    tablesWritten: [],
    columns: [],
    functions: [],
    objects: [],
    isWrite: false,
    writesInCte: false,
    hasWhere: false,
    whereAlwaysTrue: false,
    hasLimit: false,
    copyProgram: false,
    copyFile: false,
    riskTags: [],
    nested: [],
  };
}

/** Every statement in an analysis, nested ones included, parents before children. Iterative. */
export function allStatements(statements: readonly StatementFacts[]): StatementFacts[] {
  const out: StatementFacts[] = [];
  const stack = [...statements].reverse();
  while (stack.length > 0) {
    const s = stack.pop() as StatementFacts;
    out.push(s);
    for (let i = s.nested.length - 1; i >= 0; i--) stack.push(s.nested[i] as StatementFacts);
  }
  return out;
}
