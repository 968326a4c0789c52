import { loadRules, type GuardrailRule } from './rules.js';

/**
 * The default guardrail pack. Messages say what was refused and what to do instead,
 * because the reader is often an agent that will retry.
 */
const DEFAULT_RULES: unknown[] = [
  { id: 'deny-drop', severity: 'critical', message: 'DROP is not allowed through the gateway; ask an operator to run schema removals.', match: { riskTags: ['drop'] } },
  { id: 'deny-truncate', severity: 'critical', message: 'TRUNCATE is not allowed; delete the rows you mean with a DELETE … WHERE.', match: { kinds: ['truncate'] } },
  { id: 'deny-ddl-protected-object', severity: 'critical', message: 'This statement changes a protected object; protected objects may not be altered, dropped, locked or re-granted through the gateway.', match: { kinds: ['ddl_create', 'ddl_alter', 'ddl_drop', 'truncate', 'grant', 'revoke', 'lock', 'maintenance'], protectedObjects: true } },
  { id: 'deny-privilege-change', severity: 'critical', message: 'GRANT and REVOKE are not allowed; privileges are managed outside the gateway.', match: { riskTags: ['privilege_change'] } },
  { id: 'deny-password-change', severity: 'critical', message: 'Password changes are not allowed through the gateway.', match: { riskTags: ['password_change'] } },
  { id: 'deny-role-change', severity: 'critical', message: 'Creating, altering or dropping roles and users, and switching role (SET ROLE, SET SESSION AUTHORIZATION, set_config(\'role\')), are not allowed.', match: { riskTags: ['role_change'] } },
  { id: 'deny-program-execution', severity: 'critical', message: 'COPY … PROGRAM runs a shell command on the database server and is not allowed; use COPY … TO STDOUT / FROM STDIN.', match: { riskTags: ['program_execution'] } },
  { id: 'deny-server-file-access', severity: 'critical', message: 'Reading or writing files on the database server (COPY to or from a file, pg_read_file, lo_import/lo_export, LOAD DATA INFILE, INTO OUTFILE, LOAD_FILE) is not allowed; use COPY … TO STDOUT / FROM STDIN.', match: { riskTags: ['file_access'] } },
  { id: 'deny-system-config', severity: 'critical', message: 'ALTER SYSTEM, LOAD and CREATE EXTENSION change the server itself and are not allowed.', match: { riskTags: ['system_config', 'load_library'] } },
  { id: 'deny-parser-setting', severity: 'critical', message: 'Settings that change how SQL text is read (standard_conforming_strings, backslash_quote, sql_mode) may not be changed through the gateway.', match: { riskTags: ['parser_setting'] } },
  { id: 'deny-delete-update-without-where', severity: 'high', message: 'DELETE, UPDATE and MERGE need a WHERE clause (or ON condition) that limits the rows they touch.', match: { kinds: ['delete', 'update'], missingWhere: true } },
  { id: 'deny-where-always-true', severity: 'high', message: 'The WHERE clause is always true, so this would touch every row; write a condition that selects the rows you mean.', match: { kinds: ['delete', 'update', 'merge'], whereAlwaysTrue: true } },
  { id: 'deny-write-in-cte', severity: 'high', message: 'Data-modifying statements inside WITH are not allowed; run the INSERT, UPDATE or DELETE as a statement of its own.', match: { writesInCte: true } },
  { id: 'deny-multi-statement-write', severity: 'high', message: 'A write may not be sent together with other statements; send one statement at a time.', match: { isMultiStatement: true, isWrite: true } },
  { id: 'deny-code-block', severity: 'high', message: 'Anonymous code blocks (DO) are not allowed; send the SQL statements themselves.', match: { kinds: ['do'] } },
  { id: 'deny-function-definition', severity: 'high', message: 'Creating functions, procedures, triggers or languages is not allowed through the gateway.', match: { riskTags: ['function_definition'] } },
  { id: 'deny-large-object', severity: 'high', message: 'Large-object functions (lo_*) are not allowed.', match: { riskTags: ['large_object'] } },
  { id: 'deny-network', severity: 'high', message: 'Functions that reach other servers (dblink*, http*) are not allowed.', match: { riskTags: ['network'] } },
  { id: 'deny-dynamic-sql', severity: 'high', message: 'Functions that run SQL given as a string (query_to_xml, dblink) hide what they run and are not allowed; send the statement itself.', match: { riskTags: ['dynamic_sql'] } },
  { id: 'deny-admin-function', severity: 'high', message: 'Server administration functions (pg_terminate_backend, pg_reload_conf, replication slots, …) are not allowed.', match: { riskTags: ['admin_function'] } },
  { id: 'deny-session-setting', severity: 'medium', message: 'set_config and session_replication_role change how the session enforces rules and are not allowed; use SET for ordinary settings.', match: { riskTags: ['session_setting'] } },
  { id: 'deny-exclusive-lock', severity: 'medium', message: 'LOCK TABLE, VACUUM FULL and CLUSTER take locks that block other sessions and are not allowed.', match: { riskTags: ['lock'] } },
];

let cached: GuardrailRule[] | undefined;

/** The default pack, validated by the same schema as any other rules. */
export function defaultRules(): GuardrailRule[] {
  cached ??= loadRules(DEFAULT_RULES);
  return cached;
}
