import type { RiskTag } from './facts.js';

/**
 * What calling a function does, by its unqualified name. Matched on the last name part
 * whatever the schema, so `pg_catalog.pg_read_file` and a look-alike in another schema
 * are both caught: a false alarm on a look-alike is the cheaper mistake.
 */
export interface FunctionRisk {
  tags: RiskTag[];
  /** Calling it changes data or server state. */
  writes: boolean;
}

const pg: Record<string, FunctionRisk> = {};
const my: Record<string, FunctionRisk> = {};
const add = (table: Record<string, FunctionRisk>, names: string[], tags: RiskTag[], writes: boolean): void => {
  for (const n of names) table[n] = { tags, writes };
};

add(pg, ['pg_read_file', 'pg_read_binary_file', 'pg_ls_dir', 'pg_stat_file', 'pg_ls_logdir', 'pg_ls_waldir', 'pg_ls_tmpdir', 'pg_ls_archive_statusdir', 'pg_ls_logicalsnapdir', 'pg_ls_logicalmapdir', 'pg_ls_replslotdir', 'pg_logdir_ls', 'pg_current_logfile'], ['file_access'], false);
add(pg, ['pg_file_write', 'pg_file_rename', 'pg_file_unlink', 'pg_file_sync'], ['file_access'], true);
add(pg, ['lo_import', 'lo_export'], ['large_object', 'file_access'], true);
add(pg, ['lo_create', 'lo_creat', 'lo_open', 'lo_close', 'lo_unlink', 'lo_put', 'lo_from_bytea', 'lo_truncate', 'lo_truncate64', 'lowrite', 'lo_write'], ['large_object'], true);
add(pg, ['lo_get', 'loread', 'lo_read', 'lo_lseek', 'lo_lseek64', 'lo_tell', 'lo_tell64'], ['large_object'], false);
add(pg, ['dblink_exec', 'dblink_send_query', 'dblink_open', 'dblink_fetch', 'dblink_close', 'dblink_get_result', 'dblink_connect', 'dblink_connect_u', 'dblink_disconnect', 'dblink'], ['network', 'dynamic_sql'], true);
add(pg, ['http', 'http_get', 'http_post', 'http_put', 'http_patch', 'http_delete', 'http_head'], ['network'], true);
add(pg, ['query_to_xml', 'query_to_xml_and_xmlschema', 'query_to_xmlschema', 'cursor_to_xml'], ['dynamic_sql'], false);
add(pg, ['set_config'], ['session_setting'], true);
add(pg, ['pg_terminate_backend', 'pg_cancel_backend', 'pg_reload_conf', 'pg_rotate_logfile', 'pg_promote', 'pg_switch_wal', 'pg_create_restore_point', 'pg_backup_start', 'pg_backup_stop', 'pg_start_backup', 'pg_stop_backup', 'pg_create_physical_replication_slot', 'pg_create_logical_replication_slot', 'pg_drop_replication_slot', 'pg_replication_origin_create', 'pg_logical_emit_message', 'pg_stat_reset', 'pg_stat_reset_shared', 'pg_wal_replay_pause', 'pg_wal_replay_resume', 'pg_log_backend_memory_contexts'], ['admin_function'], true);
add(pg, ['pg_sleep', 'pg_sleep_for', 'pg_sleep_until'], ['sleep'], false);
add(pg, ['nextval', 'setval'], [], true);

add(my, ['load_file'], ['file_access'], false);
add(my, ['sleep', 'benchmark'], ['sleep'], false);
add(my, ['sys_exec', 'sys_eval'], ['program_execution'], true);
add(my, ['get_lock', 'release_lock', 'release_all_locks'], ['lock'], true);

/** Names by prefix: every large-object and dblink function, including ones added later. */
const pgPrefixes: Array<[string, FunctionRisk]> = [
  ['lo_', { tags: ['large_object'], writes: true }],
  ['dblink', { tags: ['network', 'dynamic_sql'], writes: true }],
  ['pg_ls_', { tags: ['file_access'], writes: false }],
  ['pg_read_', { tags: ['file_access'], writes: false }],
  ['pg_file_', { tags: ['file_access'], writes: true }],
];

export function functionRisk(dialect: 'postgres' | 'mysql', qualifiedName: string): FunctionRisk | undefined {
  const dot = qualifiedName.lastIndexOf('.');
  const base = dot >= 0 ? qualifiedName.slice(dot + 1) : qualifiedName;
  if (dialect === 'mysql') return Object.hasOwn(my, base) ? my[base] : undefined;
  if (Object.hasOwn(pg, base)) return pg[base];
  for (const [prefix, risk] of pgPrefixes) if (base.startsWith(prefix)) return risk;
  return undefined;
}
