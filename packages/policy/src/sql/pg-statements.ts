import type { RiskTag, StatementKind } from './facts.js';
import type { FactsBuilder } from './facts-builder.js';

/**
 * What each Postgres statement node is: its kind, whether it writes, its risk tags and the
 * objects it names. Node types not listed fall back on their name (Create…, Alter…, Drop…)
 * so a statement added in a later Postgres is still classed as DDL, never as harmless.
 */
export type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export function unwrap(node: unknown): [string, Obj] | undefined {
  if (!isObj(node)) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const k = keys[0] as string;
  const v = node[k];
  return isObj(v) && /^[A-Z]/.test(k) ? [k, v] : undefined;
}

/** `a.b.c` from a list of String nodes; identifiers as the parser left them (unquoted ones already folded). */
export function nameOf(node: unknown): string | undefined {
  if (typeof node === 'string') return node;
  if (Array.isArray(node)) {
    const parts = node.map((n) => nameOf(n)).filter((p): p is string => p !== undefined);
    return parts.length > 0 ? parts.join('.') : undefined;
  }
  const u = unwrap(node);
  if (u) {
    const [t, b] = u;
    if (t === 'String') return typeof b.sval === 'string' ? b.sval : undefined;
    if (t === 'List') return nameOf(b.items);
    if (t === 'ObjectWithArgs') return nameOf(b.objname);
    if (t === 'TypeName') return nameOf(b.names);
    if (t === 'RangeVar') return rangeVarName(b);
    if (t === 'RoleSpec') return roleName(b);
    if (t === 'AccessPriv') return typeof b.priv_name === 'string' ? b.priv_name : undefined;
    return undefined;
  }
  if (isObj(node) && typeof node.relname === 'string') return rangeVarName(node);
  if (isObj(node) && 'roletype' in node) return roleName(node);
  return undefined;
}

export function rangeVarName(rv: Obj): string {
  return [rv.catalogname, rv.schemaname, rv.relname].filter((p): p is string => typeof p === 'string' && p !== '').join('.');
}

function roleName(rs: Obj): string {
  if (typeof rs.rolename === 'string') return rs.rolename;
  return String(rs.roletype ?? 'role').replace(/^ROLESPEC_/, '').toLowerCase();
}

export const objType = (t: unknown, fallback = 'object'): string => (typeof t === 'string' ? t.replace(/^OBJECT_/, '').toLowerCase() : fallback);

const ROLE_STMTS = new Set(['CreateRoleStmt', 'AlterRoleStmt', 'AlterRoleSetStmt', 'DropRoleStmt', 'ReassignOwnedStmt', 'DropOwnedStmt']);
const MAINTENANCE = new Set(['VacuumStmt', 'ClusterStmt', 'ReindexStmt', 'CheckPointStmt', 'RefreshMatViewStmt']);
const OTHER_HARMLESS: Record<string, StatementKind> = {
  VariableShowStmt: 'show',
  TransactionStmt: 'transaction',
  DeallocateStmt: 'deallocate',
  FetchStmt: 'cursor',
  ClosePortalStmt: 'cursor',
  DeclareCursorStmt: 'cursor',
  ListenStmt: 'other',
  UnlistenStmt: 'other',
  NotifyStmt: 'other',
  DiscardStmt: 'other',
  ConstraintsSetStmt: 'other',
};
/** Settings that change how later statements are lexed: they would open a gap between our parse and the server's. */
const PARSER_SETTINGS = new Set(['standard_conforming_strings', 'backslash_quote', 'escape_string_warning']);
const ROLE_SETTINGS = new Set(['role', 'session_authorization']);
// session_replication_role = replica switches off triggers and foreign-key checks.
const SYSTEM_SETTINGS = new Set(['session_replication_role']);

interface Classified {
  kind: StatementKind;
  write: boolean;
  tags: RiskTag[];
}

export function classify(type: string, b: Obj): Classified {
  switch (type) {
    case 'SelectStmt':
      return b.intoClause ? { kind: 'ddl_create', write: true, tags: ['select_into', 'ddl'] } : { kind: 'select', write: false, tags: [] };
    case 'InsertStmt':
      return { kind: 'insert', write: true, tags: [] };
    case 'UpdateStmt':
      return { kind: 'update', write: true, tags: [] };
    case 'DeleteStmt':
      return { kind: 'delete', write: true, tags: [] };
    case 'MergeStmt':
      return { kind: 'merge', write: true, tags: [] };
    case 'TruncateStmt':
      return { kind: 'truncate', write: true, tags: ['truncate'] };
    case 'CopyStmt': {
      const tags: RiskTag[] = [];
      if (b.is_program === true) tags.push('program_execution');
      else if (typeof b.filename === 'string') tags.push('file_access');
      return { kind: 'copy', write: b.is_from === true || b.is_program === true, tags };
    }
    case 'DoStmt':
      return { kind: 'do', write: true, tags: ['code_block'] };
    case 'CreateFunctionStmt':
      return { kind: 'ddl_create', write: true, tags: ['function_definition', 'ddl'] };
    case 'CreatePLangStmt':
      return { kind: 'ddl_create', write: true, tags: ['function_definition', 'ddl'] };
    case 'CreateExtensionStmt':
      return { kind: 'ddl_create', write: true, tags: ['load_library', 'ddl'] };
    case 'GrantStmt':
      return { kind: b.is_grant === true ? 'grant' : 'revoke', write: true, tags: ['privilege_change'] };
    case 'GrantRoleStmt':
      return { kind: b.is_grant === true ? 'grant' : 'revoke', write: true, tags: ['privilege_change', 'role_change'] };
    case 'AlterDefaultPrivilegesStmt':
      return { kind: 'grant', write: true, tags: ['privilege_change'] };
    case 'VariableSetStmt': {
      const name = typeof b.name === 'string' ? b.name.toLowerCase() : '';
      const tags: RiskTag[] = [];
      // RESET ALL also puts the role back; SET SESSION AUTHORIZATION changes who we are.
      if (ROLE_SETTINGS.has(name) || b.kind === 'VAR_RESET_ALL') tags.push('role_change');
      if (PARSER_SETTINGS.has(name)) tags.push('parser_setting');
      if (SYSTEM_SETTINGS.has(name)) tags.push('session_setting');
      return { kind: 'set', write: false, tags };
    }
    case 'ExplainStmt':
      return { kind: 'explain', write: false, tags: hasOption(b.options, 'analyze') ? ['explain_analyze'] : [] };
    case 'PrepareStmt':
      return { kind: 'prepare', write: false, tags: [] };
    case 'ExecuteStmt':
      return { kind: 'execute', write: false, tags: [] };
    case 'CallStmt':
      // A procedure may do anything its owner may: count it as a write.
      return { kind: 'call', write: true, tags: [] };
    case 'LockStmt':
      return { kind: 'lock', write: false, tags: ['lock'] };
    case 'LoadStmt':
      return { kind: 'load_library', write: true, tags: ['load_library'] };
    case 'AlterSystemStmt':
      return { kind: 'ddl_alter', write: true, tags: ['system_config', 'ddl'] };
    case 'CreateForeignServerStmt':
    case 'AlterForeignServerStmt':
    case 'CreateUserMappingStmt':
    case 'AlterUserMappingStmt':
    case 'CreateSubscriptionStmt':
    case 'AlterSubscriptionStmt':
    case 'ImportForeignSchemaStmt':
    case 'CreateForeignTableStmt':
      // These point the server at another server: a way out for data and in for commands.
      return { kind: type.startsWith('Alter') ? 'ddl_alter' : 'ddl_create', write: true, tags: ['network', 'ddl'] };
    case 'CreateTableAsStmt':
    case 'ViewStmt':
    case 'IndexStmt':
    case 'RuleStmt':
    case 'CompositeTypeStmt':
    case 'CreatedbStmt':
      return { kind: 'ddl_create', write: true, tags: ['ddl'] };
    case 'RenameStmt':
      return b.renameType === 'OBJECT_ROLE' ? { kind: 'role', write: true, tags: ['role_change'] } : { kind: 'ddl_alter', write: true, tags: ['ddl'] };
    case 'CommentStmt':
    case 'SecLabelStmt':
    case 'AlterOwnerStmt':
    case 'AlterObjectSchemaStmt':
      return { kind: 'ddl_alter', write: true, tags: ['ddl'] };
    case 'DropStmt':
    case 'DropdbStmt':
    case 'DropTableSpaceStmt':
    case 'DropSubscriptionStmt':
    case 'DropUserMappingStmt':
      return { kind: 'ddl_drop', write: true, tags: ['drop', 'ddl'] };
    default:
      break;
  }
  if (ROLE_STMTS.has(type)) {
    const tags: RiskTag[] = ['role_change'];
    if (hasOption(b.options, 'password')) tags.push('password_change');
    if (type === 'DropRoleStmt' || type === 'DropOwnedStmt') tags.push('drop');
    return { kind: 'role', write: true, tags };
  }
  if (MAINTENANCE.has(type)) {
    const tags: RiskTag[] = ['maintenance'];
    if (type === 'VacuumStmt' && hasOption(b.options, 'full')) tags.push('lock');
    if (type === 'ClusterStmt') tags.push('lock');
    return { kind: 'maintenance', write: type === 'RefreshMatViewStmt', tags };
  }
  if (Object.hasOwn(OTHER_HARMLESS, type)) return { kind: OTHER_HARMLESS[type] as StatementKind, write: false, tags: [] };
  if (/^(Create|Define)/.test(type)) return { kind: 'ddl_create', write: true, tags: ['ddl'] };
  if (/^(Alter|Rename)/.test(type)) return { kind: 'ddl_alter', write: true, tags: ['ddl'] };
  if (/^Drop/.test(type)) return { kind: 'ddl_drop', write: true, tags: ['drop', 'ddl'] };
  // Unknown statements are assumed to write: a false alarm is cheaper than a missed one.
  return { kind: 'other', write: true, tags: [] };
}

export function hasOption(options: unknown, name: string): boolean {
  if (!Array.isArray(options)) return false;
  return options.some((o) => {
    const u = unwrap(o);
    return u !== undefined && u[0] === 'DefElem' && u[1].defname === name;
  });
}

export function optionArg(options: unknown, name: string): unknown {
  if (!Array.isArray(options)) return undefined;
  for (const o of options) {
    const u = unwrap(o);
    if (u && u[0] === 'DefElem' && u[1].defname === name) return u[1].arg;
  }
  return undefined;
}

/** The objects a DDL, GRANT or role statement names, from the fields those nodes use. */
export function recordObjects(type: string, b: Obj, f: FactsBuilder): void {
  const t = objType(b.objtype ?? b.removeType ?? b.renameType ?? b.objectType ?? b.relkind, defaultType(type));
  for (const field of ['relation', 'view', 'sequence', 'table']) {
    const v = b[field];
    const name = nameOf(v);
    if (name) f.object(field === 'view' ? 'view' : field === 'sequence' ? 'sequence' : type === 'IndexStmt' || type === 'CreateTrigStmt' || type === 'RuleStmt' || type === 'CreatePolicyStmt' ? 'table' : t, name);
  }
  if (isObj(b.into) && isObj(b.into.rel)) f.object(t === 'matview' ? 'matview' : 'table', rangeVarName(b.into.rel));
  if (isObj(b.intoClause) && isObj(b.intoClause.rel)) f.object('table', rangeVarName(b.intoClause.rel));
  for (const field of ['objects', 'relations', 'roles', 'granted_roles', 'grantee_roles', 'grantees']) {
    const list = b[field];
    if (!Array.isArray(list)) continue;
    const ft = field === 'objects' || field === 'relations' ? (type === 'GrantStmt' && b.targtype === 'ACL_TARGET_ALL_IN_SCHEMA' ? 'schema' : t) : 'role';
    for (const item of list) {
      const name = nameOf(item);
      if (name) f.object(ft, name);
    }
  }
  if (b.object !== undefined) {
    const name = nameOf(b.object);
    if (name) f.object(t, name);
  }
  if (isObj(b.role)) f.object('role', roleName(b.role));
  if (typeof b.role === 'string') f.object('role', b.role);
  if (type === 'CreateFunctionStmt') {
    const name = nameOf(b.funcname);
    if (name) f.object(b.is_procedure === true ? 'procedure' : 'function', name);
  }
  if (typeof b.idxname === 'string') f.object('index', b.idxname);
  if (typeof b.schemaname === 'string' && type === 'CreateSchemaStmt') f.object('schema', b.schemaname);
  if (typeof b.dbname === 'string') f.object('database', b.dbname);
  if (typeof b.extname === 'string') f.object('extension', b.extname);
  if (typeof b.newname === 'string') f.object(t, b.newname);
  if (typeof b.trigname === 'string') f.object('trigger', b.trigname);
}

function defaultType(type: string): string {
  if (type === 'TruncateStmt' || type === 'LockStmt' || type === 'CreateStmt' || type === 'AlterTableStmt') return 'table';
  if (type === 'CreateSchemaStmt') return 'schema';
  if (type.includes('Role')) return 'role';
  return 'object';
}
