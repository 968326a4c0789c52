import { join } from 'node:path';
import { connectionSchema, gatewaySchema, serviceTokenSchema, type PortcullisConfig } from '@portcullis/common';
import { embeddedStorePath } from '../config.js';

/**
 * The config `portcullis start` actually runs: the operator's (validated) config with
 * the embedded mode's choices applied — an in-process bus, the store and spool under
 * the state directory, port overrides, and, when the config names no connections, the
 * demo connection, its agent token and grant. Pure, so it is tested without starting
 * anything.
 */
export const DEMO_CONNECTION = 'demo';
export const DEMO_TOKEN_ID = 'demo-agent';
export const DEMO_SUBJECT = 'agent:demo';
/** The operator's token in the demo: group soc (gateway.decisions.adminGroups' default), so it may list and lift blocks. */
export const DEMO_SOC_TOKEN_ID = 'demo-soc';
export const DEMO_SOC_SUBJECT = 'operator:soc';
export const DEMO_SOC_GROUP = 'soc';
/** The demo URL reaches the gateway only by reference, as every target credential does. */
export const DEMO_URL_ENV = 'PORTCULLIS_DEMO_URL';

export interface EmbeddedChoices {
  stateDir: string;
  grpcPort?: number | undefined;
  adminPort?: number | undefined;
  demo?: { tokenSha256: string; poolMax: number; socTokenSha256?: string | undefined } | undefined;
}

const DEFAULT_SPOOL_DIR = gatewaySchema.parse({}).spool.dir;

export function embeddedConfig(base: PortcullisConfig, choices: EmbeddedChoices): PortcullisConfig {
  const gw = base.gateway;
  const connections = [...gw.connections];
  const tokens = [...gw.tokens];
  if (choices.demo) {
    connections.push(
      connectionSchema.parse({
        name: DEMO_CONNECTION,
        kind: 'postgres',
        url: `\${env:${DEMO_URL_ENV}}`,
        display: 'demo (PGlite)',
        pool: { max: choices.demo.poolMax },
        // Default deny: the demo agent is granted write; guardrails, not a read-only grant, stop destructive statements.
        grants: [{ subject: DEMO_SUBJECT, access: 'write' }],
        // PII columns by name (and through aliases/expressions by lineage), and every value detector: last four kept.
        masking: {
          columns: ['ssn', 'card_number', 'iban', 'email', 'phone'].map((c) => ({ column: c, label: c === 'card_number' ? 'card' : c, action: 'partial' })),
          defaultAction: 'partial',
        },
      }),
    );
    tokens.push(serviceTokenSchema.parse({ id: DEMO_TOKEN_ID, subject: DEMO_SUBJECT, kind: 'agent', sha256: choices.demo.tokenSha256 }));
    // No grant on any connection: the operator's token is for the admin API (decisions), not for running commands.
    if (choices.demo.socTokenSha256) tokens.push(serviceTokenSchema.parse({ id: DEMO_SOC_TOKEN_ID, subject: DEMO_SOC_SUBJECT, kind: 'human', groups: [DEMO_SOC_GROUP], sha256: choices.demo.socTokenSha256 }));
  }
  return {
    ...base,
    stateDir: choices.stateDir,
    bus: { ...base.bus, kind: 'memory' },
    store: { ...base.store, url: undefined, path: embeddedStorePath(base, choices.stateDir) },
    gateway: {
      ...gw,
      grpc: { ...gw.grpc, port: choices.grpcPort ?? gw.grpc.port },
      admin: { ...gw.admin, port: choices.adminPort ?? gw.admin.port },
      spool: { ...gw.spool, dir: gw.spool.dir === DEFAULT_SPOOL_DIR ? join(choices.stateDir, 'spool') : gw.spool.dir },
      connections,
      tokens,
    },
  };
}
