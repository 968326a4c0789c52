import type { ChangeRequestView } from '@portcullis/gateway';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../output/table.js';
import { adminCall, resolveAdminTarget } from '../client/admin-api.js';

export const CHANGES: CommandSpec = {
  name: 'changes',
  summary: 'list, file and withdraw approved change requests (config drift)',
  positionals: ['action', 'id?'],
  options: {
    admin: { type: 'string' },
    token: { type: 'string' },
    scope: { type: 'string' },
    kind: { type: 'string' },
    expect: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    title: { type: 'string' },
    id: { type: 'string' },
    'requested-by': { type: 'string' },
    status: { type: 'string' },
    json: { type: 'boolean' },
    'state-dir': { type: 'string' },
  },
  usage: `Usage: portcullis changes list [--status approved|revoked|all] [--json]
       portcullis changes file --scope S --kind gateway|agent --expect ITEMS --to WHEN [--from WHEN] --title TEXT
                               [--id ID] [--requested-by WHO]
       portcullis changes withdraw ID

Change requests on portcullis.changes, through the gateway's admin HTTP API, for members
of gateway.changes.approverGroups. Filing one approves the change it describes: the
config-drift detector stays silent about changes it covers inside its window and alerts
on any other change of an agent's manifest or a gateway's config.

  --scope S       an agent subject, a prefix ending in * (etl-*), * for all; or a gateway id
  --kind K        agent (AGENT_MANIFEST) or gateway (GATEWAY_CONFIG)
  --expect ITEMS  what may change, comma-separated:
                    endpoint=URL          an endpoint that may appear or go
                    env=NAME              a variable that may appear, change or go
                    env=NAME:SHA256       … only to the value with this sha256 (never the value)
                    digest=D              the agent_config_hash or gateway config digest it leads to
                    section=NAME          a gateway config section (connection:main, grants:*)
  --from, --to    the window: ISO 8601, ms since epoch, now, or relative (+2h, +1d; --from=-30m)
  --title TEXT    what and why, for the people reading the alerts
  --admin URL / --token TOKEN / --state-dir DIR   as for \`portcullis approvals\`
Exit status: 0 ok, 64 usage, 1 refused or failed (the API's field and message are printed).`,
};

/** `now`, `+2h`, `-30m`, ms since epoch or ISO 8601 → ms. */
export function parseWhen(s: string, now: number, flag: string): number {
  if (s === 'now') return now;
  const rel = /^([+-])(\d+)([smhd])$/.exec(s);
  if (rel) {
    const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[3] as 's' | 'm' | 'h' | 'd'];
    return now + (rel[1] === '-' ? -1 : 1) * Number(rel[2]) * unit;
  }
  if (/^\d+$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new UsageError(`--${flag}: not a time (ISO 8601, ms, now, +2h): ${JSON.stringify(s)}`, CHANGES.usage);
  return t;
}

export interface ExpectedItems {
  digest?: string;
  endpoints: string[];
  env: Array<{ name: string; valueSha256: string }>;
  sections: string[];
}

/** `endpoint=…,env=NAME[:sha],digest=…,section=…` → the API's `expected`. */
export function parseExpect(s: string): ExpectedItems {
  const out: ExpectedItems = { endpoints: [], env: [], sections: [] };
  for (const part of s.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq) : '';
    const value = part.slice(eq + 1);
    if (!value) throw new UsageError(`--expect: ${JSON.stringify(part)} has no value`, CHANGES.usage);
    if (key === 'endpoint') out.endpoints.push(value);
    else if (key === 'section') out.sections.push(value);
    else if (key === 'digest') out.digest = value;
    else if (key === 'env') {
      const colon = value.indexOf(':');
      out.env.push(colon < 0 ? { name: value, valueSha256: '' } : { name: value.slice(0, colon), valueSha256: value.slice(colon + 1) });
    } else throw new UsageError(`--expect: ${JSON.stringify(part)} is not endpoint=, env=, digest= or section=`, CHANGES.usage);
  }
  return out;
}


function when(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

function expectedText(c: ChangeRequestView): string {
  const parts = [
    ...(c.expected.digest ? [`digest=${c.expected.digest.slice(0, 12)}`] : []),
    ...c.expected.endpoints.map((e) => `endpoint=${e}`),
    ...c.expected.env.map((e) => `env=${e.name}${e.valueSha256 ? `:${e.valueSha256.slice(0, 8)}…` : ''}`),
    ...c.expected.sections.map((s) => `section=${s}`),
  ];
  const text = parts.join(',');
  return text.length > 60 ? `${text.slice(0, 59)}…` : text;
}

export async function runChanges(args: ParsedArgs, ctx: CliContext, now: () => number = Date.now): Promise<number> {
  const action = args.positionals[0] ?? '';
  const id = args.positionals[1];
  const json = args.flag('json');
  switch (action) {
    case 'list': {
      if (id) throw new UsageError('portcullis changes list: takes no ID', CHANGES.usage);
      const status = args.string('status') ?? 'all';
      const { changes } = await adminCall<{ changes: ChangeRequestView[] }>(resolveAdminTarget(args, ctx), 'GET', `/changes?status=${encodeURIComponent(status)}`);
      if (json) ctx.out(JSON.stringify(changes));
      else
        ctx.out(
          formatTable(
            ['id', 'status', 'kind', 'scope', 'from', 'to', 'approved by', 'expected', 'title'],
            changes.map((c) => [c.changeId, c.status.toLowerCase(), c.kind === 'AGENT_MANIFEST' ? 'agent' : 'gateway', c.scope, when(c.windowStart), when(c.windowEnd), c.approvedBy, expectedText(c), c.title]),
          ),
        );
      return ExitCode.ok;
    }
    case 'file': {
      if (id) throw new UsageError('portcullis changes file: takes no positional ID (use --id)', CHANGES.usage);
      const need = (flag: string): string => {
        const v = args.string(flag);
        if (v === undefined || v === '') throw new UsageError(`portcullis changes file: --${flag} is required`, CHANGES.usage);
        return v;
      };
      const kindFlag = need('kind').toLowerCase();
      const kind = kindFlag === 'agent' || kindFlag === 'agent_manifest' ? 'AGENT_MANIFEST' : kindFlag === 'gateway' || kindFlag === 'gateway_config' ? 'GATEWAY_CONFIG' : undefined;
      if (!kind) throw new UsageError(`--kind: agent or gateway, got ${JSON.stringify(kindFlag)}`, CHANGES.usage);
      const t = now();
      const body = {
        title: need('title'),
        scope: need('scope'),
        kind,
        expected: parseExpect(need('expect')),
        windowStart: parseWhen(args.string('from') ?? 'now', t, 'from'),
        windowEnd: parseWhen(need('to'), t, 'to'),
        ...(args.string('id') ? { changeId: args.string('id') } : {}),
        ...(args.string('requested-by') ? { requestedBy: args.string('requested-by') } : {}),
      };
      const c = await adminCall<ChangeRequestView>(resolveAdminTarget(args, ctx), 'POST', '/changes', body);
      ctx.out(json ? JSON.stringify(c) : `change ${c.changeId}: approved for ${c.kind === 'AGENT_MANIFEST' ? 'agent' : 'gateway'} ${c.scope} from ${when(c.windowStart)} to ${when(c.windowEnd)}`);
      return ExitCode.ok;
    }
    case 'withdraw': {
      if (!id) throw new UsageError('portcullis changes withdraw: the change ID is required', CHANGES.usage);
      const c = await adminCall<ChangeRequestView>(resolveAdminTarget(args, ctx), 'DELETE', `/changes/${encodeURIComponent(id)}`);
      ctx.out(json ? JSON.stringify(c) : `change ${c.changeId}: withdrawn (${c.status.toLowerCase()} at ${when(c.revokedAt)} by ${c.revokedBy})`);
      return ExitCode.ok;
    }
    default:
      throw new UsageError(`portcullis changes: unknown action ${JSON.stringify(action)} (list, file, withdraw)`, CHANGES.usage);
  }
}
