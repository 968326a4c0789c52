import type { Counter, Logger } from '@portcullis/common';
import { fingerprintOf } from '../analysis/command-analyzer.js';
import type { ApprovalState } from './state.js';

export interface ApprovalNotifier {
  /** Fire and forget: never throws, never delays the command that opened the approval. */
  opened(state: ApprovalState, statementType: string): void;
  /** Resolves when every notification in flight has finished (for shutdown and tests). */
  idle(): Promise<void>;
}

export const silentNotifier: ApprovalNotifier = { opened: () => undefined, idle: async () => undefined };

/** Slack-compatible body: `text` for any receiver, `blocks` for Slack's layout. */
export interface WebhookBody {
  text: string;
  blocks: Array<{ type: 'section'; text: { type: 'mrkdwn'; text: string } } | { type: 'context'; elements: Array<{ type: 'mrkdwn'; text: string }> }>;
}

/**
 * The message carries the command with its literals stripped, not the text: a chat
 * channel is not the place for the values in a WHERE clause. Approvers read the exact
 * text where they authenticate, with `portcullis approvals show ID`.
 */
export function webhookBody(state: ApprovalState, statementType: string): WebhookBody {
  const r = state.request;
  const what = statementType ? `${/^[AEIOU]/i.test(statementType) ? 'an' : 'a'} ${statementType}` : 'a command';
  const groups = r.approverGroups.length > 0 ? r.approverGroups.join(', ') : '(none configured)';
  const headline = `Approval needed: ${r.requester} wants to run ${what} on ${r.connection} (${r.environment})`;
  const detail = `Rule ${r.ruleId}: ${r.reason}. Needs ${r.requiredApprovals} approval(s) from ${groups}; expires ${new Date(r.expiresAt).toISOString()}.`;
  const stripped = fingerprintOf(r.commandText);
  const shape = stripped.length > 500 ? `${stripped.slice(0, 500)}…` : stripped;
  return {
    text: `${headline}. ${detail} Approval id ${r.approvalId}: portcullis approvals show ${r.approvalId}`,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${headline}*\n${detail}` } },
      { type: 'section', text: { type: 'mrkdwn', text: '```' + shape.replace(/```/g, "'''") + '```' } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `fingerprint ${r.fingerprint} · \`portcullis approvals show ${r.approvalId}\` · \`portcullis approvals approve ${r.approvalId}\` · \`portcullis approvals deny ${r.approvalId}\`` }] },
    ],
  };
}

/**
 * POSTs webhookBody to the configured URL. Failures (refused, timed out, non-2xx) are
 * counted and logged without the URL, which for Slack is itself a secret.
 */
export function createWebhookNotifier(opts: { url: string; timeoutMs: number; logger: Logger; counter: Counter }): ApprovalNotifier {
  const inFlight = new Set<Promise<void>>();
  async function send(state: ApprovalState, statementType: string): Promise<void> {
    const approvalId = state.request.approvalId;
    try {
      const res = await fetch(opts.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(webhookBody(state, statementType)),
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      opts.counter.inc({ outcome: 'ok' });
    } catch (e) {
      opts.counter.inc({ outcome: 'failed' });
      opts.logger.warn({ approval_id: approvalId, reason: e instanceof Error ? e.message : String(e) }, 'approval webhook failed');
    }
  }
  return {
    opened(state, statementType) {
      const p = send(state, statementType).finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async idle() {
      await Promise.all([...inFlight]);
    },
  };
}
