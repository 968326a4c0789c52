import { isPcxError, PcxError } from '@portcullis/common';
import type { ApprovalUpdate, ApprovalView } from '@portcullis/gateway';
import { UsageError, type CommandSpec, type ParsedArgs } from '../args.js';
import type { ExecCall } from '../client/gateway-exec.js';
import type { ExecResult } from '../client/exec-result.js';
import type { CliContext } from '../context.js';
import { ExitCode } from '../exit-codes.js';
import { formatTable } from '../output/table.js';
import { adminCall, resolveAdminTarget, type AdminTarget } from '../client/admin-api.js';

export const APPROVALS: CommandSpec = {
  name: 'approvals',
  summary: 'list, show, approve and deny held commands (just-in-time approval)',
  positionals: ['action', 'id?'],
  options: {
    admin: { type: 'string' },
    token: { type: 'string' },
    status: { type: 'string' },
    comment: { type: 'string', short: 'm' },
    json: { type: 'boolean' },
    'state-dir': { type: 'string' },
  },
  usage: `Usage: portcullis approvals list [--status S] [--json]
       portcullis approvals show ID [--json]
       portcullis approvals approve ID [--comment TEXT]
       portcullis approvals deny ID [--comment TEXT]

Commands held for approval, through the gateway's admin HTTP API. You see the requests
you made and those you may approve (a member of one of the rule's approver groups);
nobody approves their own. The admin URL comes from --admin, else the demo.json of a
running \`portcullis start\`; the token from --token, else $PORTCULLIS_TOKEN, else demo.json.
Exit status: 0 ok, 2 refused (not an approver, own request, already voted …), 1 other errors.

Options:
  --admin URL          the gateway's admin base URL (http://127.0.0.1:7080)
  --token TOKEN        your bearer token (an approver's, to approve or deny)
  --status S           list only: pending, approved, denied, expired, used, all (default pending)
  -m, --comment TEXT   a note recorded with the vote
  --json               print the API's JSON
  --state-dir DIR      where demo.json is (default ./.portcullis)`,
};


function when(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '-';
}

export function formatApproval(a: ApprovalView): string {
  const lines = [
    `approval   ${a.approvalId}`,
    `status     ${a.status} (${a.approvals} of ${a.requiredApprovals} approvals)`,
    `requester  ${a.requester} (credential ${a.requesterCredentialId})`,
    `connection ${a.connection} (${a.environment})`,
    `results to ${a.destination || '(not declared)'}`,
    `rule       ${a.ruleId}: ${a.reason}`,
    `approvers  ${a.approverGroups.join(', ') || '(none)'}`,
    `created    ${when(a.createdAt)}`,
    `expires    ${when(a.expiresAt)}`,
  ];
  if (a.usedAt > 0) lines.push(`used       ${when(a.usedAt)} by request ${a.usedByRequestId}`);
  for (const v of a.votes) lines.push(`vote       ${v.vote} by ${v.approver} at ${when(v.time)}${v.comment ? `: ${v.comment}` : ''}`);
  lines.push('command', `  ${a.commandText.replace(/\n/g, '\n  ')}`);
  return lines.join('\n');
}

export async function runApprovals(args: ParsedArgs, ctx: CliContext): Promise<number> {
  const action = args.positionals[0] ?? '';
  const id = args.positionals[1];
  const needId = (): string => {
    if (!id) throw new UsageError(`portcullis approvals ${action}: the approval ID is required`, APPROVALS.usage);
    return encodeURIComponent(id);
  };
  const target = (): AdminTarget => resolveAdminTarget(args, ctx);
  const json = args.flag('json');
  switch (action) {
    case 'list': {
      if (id) throw new UsageError('portcullis approvals list: takes no ID', APPROVALS.usage);
      const status = args.string('status') ?? 'pending';
      const { approvals } = await adminCall<{ approvals: ApprovalView[] }>(target(), 'GET', `/approvals?status=${encodeURIComponent(status)}`);
      if (json) ctx.out(JSON.stringify(approvals));
      else
        ctx.out(
          formatTable(
            ['id', 'status', 'votes', 'requester', 'connection', 'rule', 'expires', 'command'],
            approvals.map((a) => [a.approvalId, a.status, `${a.approvals}/${a.requiredApprovals}`, a.requester, a.connection, a.ruleId, when(a.expiresAt), a.commandText.length > 60 ? `${a.commandText.slice(0, 59)}…` : a.commandText]),
          ),
        );
      return ExitCode.ok;
    }
    case 'show': {
      const a = await adminCall<ApprovalView>(target(), 'GET', `/approvals/${needId()}`);
      ctx.out(json ? JSON.stringify(a) : formatApproval(a));
      return ExitCode.ok;
    }
    case 'approve':
    case 'deny': {
      const a = await adminCall<ApprovalView>(target(), 'POST', `/approvals/${needId()}/${action}`, { comment: args.string('comment') ?? '' });
      ctx.out(json ? JSON.stringify(a) : `approval ${a.approvalId}: ${a.status} (${a.approvals} of ${a.requiredApprovals} approvals)`);
      return ExitCode.ok;
    }
    default:
      throw new UsageError(`portcullis approvals: unknown action ${JSON.stringify(action)} (list, show, approve, deny)`, APPROVALS.usage);
  }
}

const STATUS_NAMES: Record<number, string> = { 1: 'pending', 2: 'approved', 3: 'denied', 4: 'expired', 5: 'used' };

export function describeUpdate(u: ApprovalUpdate): string {
  const votes = u.votes.map((v) => `${v.vote === 1 ? 'approved' : 'denied'} by ${v.approver}${v.comment ? ` (${v.comment})` : ''}`);
  return `approval ${u.approvalId}: ${STATUS_NAMES[u.status] ?? 'unknown'}, ${u.approvals} of ${u.requiredApprovals} approvals${votes.length ? `; ${votes.join('; ')}` : ''}`;
}

/**
 * What `portcullis exec` does when the gateway holds its command (PCX_APPROVAL_REQUIRED):
 * says so on stderr — which approval, which rule, how many approvals from whom — and with
 * `waitSeconds` follows the approval (WaitApproval), printing each vote, then re-submits
 * the same command with the approval id. Any other error is rethrown as it was.
 */
export async function afterHold(e: unknown, call: ExecCall, waitSeconds: number | undefined, ctx: CliContext): Promise<ExecResult> {
  const approvalId = isPcxError(e) && e.code === 'PCX_APPROVAL_REQUIRED' ? e.context['approvalId'] : undefined;
  if (!isPcxError(e) || typeof approvalId !== 'string' || call.approvalId) throw e;
  ctx.err(`held for approval: ${e.message}`);
  if (!waitSeconds) {
    ctx.err(`see it with \`portcullis approvals show ${approvalId}\`; run again with --approval ${approvalId} once approved, or with --wait SECONDS`);
    throw e;
  }
  ctx.err(`waiting up to ${waitSeconds} s for approval ${approvalId} …`);
  // Loaded here, not at the top: the command table imports this file for APPROVALS, and
  // commands that never talk gRPC should not load the gateway client.
  const { createGatewayClient } = await import('@portcullis/gateway');
  const client = createGatewayClient(call.address, call.token, { host: call.host, container: call.container, process: 'portcullis-cli' });
  let last: ApprovalUpdate | undefined;
  try {
    last = await client.waitApproval(approvalId, waitSeconds * 1000, (u) => ctx.err(describeUpdate(u)));
  } finally {
    client.close();
  }
  const status = last ? (STATUS_NAMES[last.status] ?? 'unknown') : 'unknown';
  if (status !== 'approved') {
    const code = status === 'denied' ? 'PCX_FORBIDDEN' : status === 'pending' ? 'PCX_APPROVAL_REQUIRED' : 'PCX_BAD_REQUEST';
    throw new PcxError(code, `approval ${approvalId} is ${status}; the command was not run`, { approvalId });
  }
  ctx.err(`approved; running with approval ${approvalId}`);
  const { execOnGateway } = await import('../client/gateway-exec.js');
  return execOnGateway({ ...call, approvalId });
}
