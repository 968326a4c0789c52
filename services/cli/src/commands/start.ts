import { join } from 'node:path';
import { createBus } from '@portcullis/bus';
import { createLogger, MetricsRegistry, topicSpecs } from '@portcullis/common';
import { createGateway } from '@portcullis/gateway';
import { createStoreClient } from '@portcullis/store';
import type { ParsedArgs } from '../args.js';
import { startDetectors } from '../components/detectors.js';
import { startSinkComponent } from '../components/sink.js';
import { openMigratedStore } from '../components/store.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { DEMO_POOL_MAX, startDemoDatabase } from '../demo/database.js';
import { generateToken, tokenSha256 } from '../embedded/demo-token.js';
import { DEMO_CONNECTION, DEMO_URL_ENV, embeddedConfig } from '../embedded/embedded-config.js';
import { Shutdown } from '../embedded/shutdown.js';
import { ExitCode } from '../exit-codes.js';
import { waitForSignal } from '../signals.js';
import { startStoreApi } from '../store-api/server.js';
import { ensureStateDir, removeRunFiles, resolveStateDir, writeDemoFile, writeStoreApiFile } from '../state.js';

/** Run files first (their tokens are about to stop working), then the front door: stop taking commands, then stop producing, then consumers, then storage. */
const CLOSE_ORDER = ['run-files', 'gateway', 'detectors', 'sink', 'bus', 'store-api', 'store', 'demo-db'];

export async function runStart(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const { config: base } = loadCliConfig(args.string('config'), ctx.env);
  const stateDir = resolveStateDir(args.string('state-dir'), base.stateDir);
  ensureStateDir(stateDir);
  const logger = createLogger('portcullis', base.log.level);
  const metrics = new MetricsRegistry();
  const shutdown = new Shutdown(logger);
  const withDemo = base.gateway.connections.length === 0;
  const demoToken = withDemo ? generateToken() : undefined;
  const socToken = withDemo ? generateToken() : undefined;
  const config = embeddedConfig(base, {
    stateDir,
    grpcPort: args.port('grpc-port'),
    adminPort: args.port('admin-port'),
    demo: demoToken ? { tokenSha256: tokenSha256(demoToken), poolMax: DEMO_POOL_MAX, socTokenSha256: socToken ? tokenSha256(socToken) : undefined } : undefined,
  });
  // Credential references resolve against this copy; the demo URL is added to it, never to process.env or the config.
  const env: Record<string, string | undefined> = { ...ctx.env.vars };

  try {
    // The store first: chdb's lock on its directory is what refuses a second `start` on the same state dir.
    const store = await openMigratedStore(config, env, logger);
    shutdown.add('store', () => store.close());

    let demoDatabaseUrl: string | undefined;
    if (withDemo) {
      const demo = await startDemoDatabase({ dataDir: join(stateDir, 'demo-pg'), logger });
      shutdown.add('demo-db', () => demo.close());
      demoDatabaseUrl = demo.url;
      env[DEMO_URL_ENV] = demo.url;
    }

    const bus = createBus(config.bus, logger, { metrics });
    shutdown.add('bus', () => bus.close());
    // Consumers subscribe before the gateway publishes; the topics must exist first.
    await bus.ensureTopics(topicSpecs(config.bus.partitions));
    const sink = await startSinkComponent(config, bus, store, logger, metrics);
    shutdown.add('sink', () => sink.close());
    const detectors = await startDetectors(config, bus, logger, metrics);
    shutdown.add('detectors', () => detectors.close());

    const gateway = createGateway({ config, env, bus, logger, metrics });
    await gateway.start();
    shutdown.add('gateway', () => gateway.close());

    // A connection of its own: with chdb, query settings become session SETs, and the
    // analyst's readonly=1 must not land on the connection the sink inserts through.
    const readerClient = createStoreClient(config.store, { env });
    const storeToken = generateToken();
    const storeApi = await startStoreApi({ client: readerClient, token: storeToken, logger });
    shutdown.add('store-api', async () => {
      await storeApi.close();
      await readerClient.close();
    });

    const grpc = `${config.gateway.grpc.host}:${gateway.grpcPort}`;
    const admin = `http://${config.gateway.admin.host}:${gateway.adminPort}`;
    shutdown.add('run-files', async () => removeRunFiles(stateDir));
    writeStoreApiFile(stateDir, { url: storeApi.url, token: storeToken });
    if (demoToken) {
      const path = writeDemoFile(stateDir, { grpc, admin, token: demoToken, connection: DEMO_CONNECTION, demoDatabaseUrl, ...(socToken ? { socToken } : {}) });
      ctx.out(`demo: connection "${DEMO_CONNECTION}" with synthetic PII; agent token in ${path}`);
      ctx.out(`      try: portcullis exec -c ${DEMO_CONNECTION} "select id, name, email from customers limit 5"`);
      ctx.out(`      operator (SOC) token in the same file: portcullis decisions list | lift SUBJECT --reason TEXT`);
    }
    ctx.out(`portcullis ready grpc=${grpc} admin=${admin} state=${stateDir}`);
  } catch (e) {
    await shutdown.run(CLOSE_ORDER);
    throw e;
  }

  const signal = await waitForSignal();
  logger.info({ signal }, 'shutting down');
  await shutdown.run(CLOSE_ORDER);
  ctx.out('portcullis stopped');
  return ExitCode.ok;
}
