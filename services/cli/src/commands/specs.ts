import type { CommandSpec } from '../args.js';
import { APPROVALS } from './approvals.js';
import { CHANGES } from './changes.js';
import { DECISIONS } from './decisions.js';

/**
 * Every command's flags and help, in one table so that `portcullis --help` and each
 * command's parser agree. Handlers live in their own files and are imported lazily by
 * main, so `portcullis exec` never loads the ClickHouse engine or PGlite.
 */
const stateDir = { 'state-dir': { type: 'string' } } as const;
const config = { config: { type: 'string' } } as const;

export const START: CommandSpec = {
  name: 'start',
  summary: 'run everything in one process (embedded mode), with a demo database when no targets are configured',
  positionals: [],
  options: { ...config, ...stateDir, 'grpc-port': { type: 'string' }, 'admin-port': { type: 'string' } },
  usage: `Usage: portcullis start [--config FILE] [--state-dir DIR] [--grpc-port N] [--admin-port N]

Runs the gateway, detectors and sink in one process on an in-process bus, with the
embedded ClickHouse engine (chdb) under the state directory. When the config names no
connections, also starts a demo Postgres database with synthetic PII as connection
"demo", and writes DIR/demo.json (mode 0600) with the addresses and a fresh agent token.

Options:
  --config FILE      config file (default: $PORTCULLIS_CONFIG, else built-in defaults)
  --state-dir DIR    state directory (default: config stateDir, ./.portcullis)
  --grpc-port N      gRPC port (default 7443; 0 = a free port)
  --admin-port N     admin HTTP port (default 7080; 0 = a free port)`,
};

const component = (name: 'gateway' | 'detectors' | 'sink', what: string): CommandSpec => ({
  name,
  summary: `run the ${name} alone (distributed mode)`,
  positionals: [],
  options: { ...config },
  usage: `Usage: portcullis ${name} --config FILE

${what}

Options:
  --config FILE      config file (default: $PORTCULLIS_CONFIG)`,
});

export const GATEWAY = component('gateway', 'Runs the enforcement gateway: gRPC front end and admin HTTP, publishing events on the configured bus.');
export const DETECTORS = component('detectors', 'Runs the streaming detectors: consumes portcullis.events, publishes alerts and decisions.');
export const SINK = component('sink', 'Copies events, alerts and decisions from the bus into ClickHouse (store.url, or the embedded engine).');

export const EXEC: CommandSpec = {
  name: 'exec',
  summary: 'run one command on a connection through the gateway',
  positionals: ['command'],
  options: {
    connection: { type: 'string', short: 'c' },
    gateway: { type: 'string' },
    token: { type: 'string' },
    host: { type: 'string' },
    container: { type: 'string' },
    destination: { type: 'string' },
    json: { type: 'boolean' },
    wait: { type: 'string' },
    approval: { type: 'string' },
    ...stateDir,
  },
  usage: `Usage: portcullis exec -c NAME [options] "COMMAND"

Runs COMMAND on connection NAME through the gateway and prints the rows.
The gateway and token come from --gateway/--token, else $PORTCULLIS_GATEWAY and
$PORTCULLIS_TOKEN, else the demo.json of a running \`portcullis start\`.
Exit status: 0 ok, 2 denied by the gateway, 1 any other error (stderr: <PCX_CODE>: <reason>).

Options:
  -c, --connection NAME   connection to run on (required)
  --gateway HOST:PORT     gateway gRPC address
  --token TOKEN           bearer token
  --host NAME             declared origin host (x-portcullis-host)
  --container ID          declared origin container (x-portcullis-container)
  --destination URL|HOST  where the results go next (ExecRequest.destination); the
                          gateway records scheme://host[:port] or host[:port] only
  --json                  print {columns, rows, rowCount, ...} as JSON
  --wait SECONDS          when the command is held for approval, wait for it and then run
  --approval ID           re-submit a held command once its approval ID is approved
  --state-dir DIR         where demo.json is (default ./.portcullis)`,
};

const storeOptions = { 'store-url': { type: 'string' }, ...config, ...stateDir, json: { type: 'boolean' } } as const;

export const QUERY: CommandSpec = {
  name: 'query',
  summary: 'run an analyst query on the event store (ClickHouse)',
  positionals: ['sql'],
  options: { ...storeOptions },
  usage: `Usage: portcullis query [--store-url URL | --config FILE] [--state-dir DIR] [--json] "SQL"

Runs SQL on the event store: a ClickHouse server (--store-url, or store.url in the
config), else the embedded store of this state directory — through the running
\`portcullis start\` when there is one (chdb allows one process per data directory),
otherwise by opening it directly.

Options:
  --store-url URL    ClickHouse HTTP URL (http://host:8123)
  --config FILE      read store settings from a config file
  --state-dir DIR    state directory (default ./.portcullis)
  --json             print rows as JSON`,
};

export const ALERTS: CommandSpec = {
  name: 'alerts',
  summary: 'list detector alerts (newest last); --follow for new ones',
  positionals: [],
  options: { ...storeOptions, follow: { type: 'boolean', short: 'f' }, limit: { type: 'string' }, 'interval-ms': { type: 'string' } },
  usage: `Usage: portcullis alerts [--follow] [--json] [--limit N] [--store-url URL | --config FILE] [--state-dir DIR]

Shows alerts as a SOC reads them: time, severity, title, subject, credential, risk score
and evidence count, from the event store. --follow keeps polling for new alerts; with a
--config whose bus is Kafka it tails portcullis.alerts instead.

Options:
  -f, --follow         keep printing new alerts until interrupted
  --json               one JSON object per alert
  --limit N            how many recent alerts to show first (default 50)
  --interval-ms N      poll interval for --follow on the store (default 2000)
  --store-url URL      ClickHouse HTTP URL
  --config FILE        config file (store.url; bus for --follow)
  --state-dir DIR      state directory (default ./.portcullis)`,
};

export const SIMULATE: CommandSpec = {
  name: 'simulate',
  summary: 'run a seeded fleet scenario with injected insider actions through the detectors and score them',
  positionals: [],
  options: { seed: { type: 'string' }, agents: { type: 'string' }, weeks: { type: 'string' }, json: { type: 'boolean' } },
  usage: `Usage: portcullis simulate [--seed N] [--agents N] [--weeks N] [--json]

Generates weeks of event-time traffic for a fleet of agents (nightly ETL jobs with cron
schedules, reporting agents in office hours, support and payments agents), injects a
stolen token from a new host, a bulk read of a rarely touched table, off-schedule runs
and sensitive records sent to a new destination, runs it all through the detector
runtime on the in-process bus, and prints per-detector true and false positives,
precision, recall, time to detect (event time) and the block decisions issued.
Exit status 1 when an injected action was missed or not blocked as configured.

Options:
  --seed N      scenario seed (default 1)
  --agents N    fleet size (default 12)
  --weeks N     weeks of event time, at least 3; the last carries the injections (default 4)
  --json        print the report as JSON`,
};

export const BACKTEST: CommandSpec = {
  name: 'backtest',
  summary: 'replay stored events of a window through the detectors and report what would have fired',
  positionals: [],
  options: { ...storeOptions, from: { type: 'string' }, to: { type: 'string' } },
  usage: `Usage: portcullis backtest --from ISO --to ISO [--config FILE] [--store-url URL] [--state-dir DIR] [--json]

Reads the events of [from, to) from the event store (events FINAL, in time order),
replays them through fresh detectors configured by the config's detectors section, and
prints the alerts by detector and subject and the block decisions they would have
issued. Config drift reads the change requests the sink stored from portcullis.changes,
as the topic held them at --to. Publishes nothing. The store is reached as
\`portcullis query\` reaches it.

Options:
  --from ISO         window start (e.g. 2025-01-20T00:00:00Z)
  --to ISO           window end (exclusive)
  --config FILE      detector settings and store settings
  --store-url URL    ClickHouse HTTP URL
  --state-dir DIR    state directory of the embedded store (default ./.portcullis)
  --json             print the report as JSON`,
};

export const COMMANDS: readonly CommandSpec[] = [START, GATEWAY, DETECTORS, SINK, EXEC, QUERY, ALERTS, APPROVALS, CHANGES, DECISIONS, SIMULATE, BACKTEST];

export const MAIN_USAGE = `Usage: portcullis <command> [options]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Run \`portcullis <command> --help\` for a command's options.
Environment: PORTCULLIS_GATEWAY, PORTCULLIS_TOKEN, PORTCULLIS_CONFIG.`;
