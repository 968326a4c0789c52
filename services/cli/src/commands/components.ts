import { createBus } from '@portcullis/bus';
import { createLogger, MetricsRegistry, PcxError, topicSpecs, type PortcullisConfig } from '@portcullis/common';
import { createGateway } from '@portcullis/gateway';
import type { ParsedArgs } from '../args.js';
import { startDetectors } from '../components/detectors.js';
import { startSinkComponent } from '../components/sink.js';
import { openMigratedStore } from '../components/store.js';
import { loadCliConfig } from '../config.js';
import type { CliContext } from '../context.js';
import { Shutdown } from '../embedded/shutdown.js';
import { ExitCode } from '../exit-codes.js';
import { waitForSignal } from '../signals.js';

/**
 * `portcullis gateway|detectors|sink`: one component per process (the distributed mode),
 * on the bus and store the config names. Each prints `portcullis <component> ready` once
 * serving and stops cleanly on SIGINT/SIGTERM.
 */
type Component = 'gateway' | 'detectors' | 'sink';

function configFor(component: Component, args: ParsedArgs, ctx: CliContext): PortcullisConfig {
  const { config, source } = loadCliConfig(args.string('config'), ctx.env);
  if (source === undefined) throw new PcxError('PCX_CONFIG_INVALID', `portcullis ${component}: give --config FILE (or PORTCULLIS_CONFIG); use \`portcullis start\` for the embedded mode`);
  return config;
}

async function serve(component: Component, args: ParsedArgs, ctx: CliContext, build: (config: PortcullisConfig, shutdown: Shutdown, parts: Parts) => Promise<string>): Promise<number> {
  const config = configFor(component, args, ctx);
  const logger = createLogger(`portcullis-${component}`, config.log.level);
  const metrics = new MetricsRegistry();
  const shutdown = new Shutdown(logger);
  const order = ['gateway', 'detectors', 'sink', 'bus', 'store'];
  try {
    const bus = createBus(config.bus, logger, { metrics });
    shutdown.add('bus', () => bus.close());
    // Idempotent; whichever component starts first creates the topics with the configured layout.
    await bus.ensureTopics(topicSpecs(config.bus.partitions));
    const detail = await build(config, shutdown, { bus, logger, metrics, env: ctx.env.vars });
    ctx.out(`portcullis ${component} ready ${detail}`.trimEnd());
  } catch (e) {
    await shutdown.run(order);
    throw e;
  }
  const signal = await waitForSignal();
  logger.info({ signal }, 'shutting down');
  await shutdown.run(order);
  return ExitCode.ok;
}

interface Parts {
  bus: ReturnType<typeof createBus>;
  logger: ReturnType<typeof createLogger>;
  metrics: MetricsRegistry;
  env: Readonly<Record<string, string | undefined>>;
}

export function runGatewayOnly(args: ParsedArgs, ctx: CliContext): Promise<number> {
  return serve('gateway', args, ctx, async (config, shutdown, p) => {
    const gateway = createGateway({ config, env: p.env, bus: p.bus, logger: p.logger, metrics: p.metrics });
    await gateway.start();
    shutdown.add('gateway', () => gateway.close());
    return `grpc=${config.gateway.grpc.host}:${gateway.grpcPort} admin=http://${config.gateway.admin.host}:${gateway.adminPort}`;
  });
}

export function runDetectorsOnly(args: ParsedArgs, ctx: CliContext): Promise<number> {
  return serve('detectors', args, ctx, async (config, shutdown, p) => {
    const detectors = await startDetectors(config, p.bus, p.logger, p.metrics);
    shutdown.add('detectors', () => detectors.close());
    return `group=${config.detectors.groupId} bus=${config.bus.kind}`;
  });
}

export function runSinkOnly(args: ParsedArgs, ctx: CliContext): Promise<number> {
  return serve('sink', args, ctx, async (config, shutdown, p) => {
    const store = await openMigratedStore(config, p.env, p.logger);
    shutdown.add('store', () => store.close());
    const sink = await startSinkComponent(config, p.bus, store, p.logger, p.metrics);
    shutdown.add('sink', () => sink.close());
    return `group=${config.sink.groupId} store=${config.store.url ? 'server' : config.store.path}`;
  });
}
