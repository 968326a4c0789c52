import type { ErrorCode } from '@portcullis/common';
import type { CommandFacts } from '../analysis/command-analyzer.js';
import type { Identity } from '../identity/authenticator.js';
import type { Origin } from '../origin/origin.js';
import type { Access } from '../grants/grants.js';

/** Everything policy may judge a command by. */
export interface PolicyContext {
  readonly requestId: string;
  readonly sessionId: string;
  readonly identity: Identity;
  readonly origin: Origin;
  readonly connection: { readonly name: string; readonly kind: string };
  readonly access: Access;
  readonly command: string;
  readonly facts: CommandFacts;
}

/**
 * Policy wants a human (or several) to approve the command before it runs. The gateway
 * turns it into an approval request (src/approvals); `ttlMs` absent = the configured default.
 */
export interface HoldVerdict {
  readonly action: 'hold';
  readonly ruleId: string;
  readonly reason: string;
  /** N: distinct approvers needed. */
  readonly requiredApprovals: number;
  /** Identity groups whose members may approve. */
  readonly approverGroups: readonly string[];
  readonly ttlMs?: number;
}

/** Expected outcomes are values. `mask` arrives with masking. */
export type PolicyVerdict = { readonly action: 'allow'; readonly rule?: string } | { readonly action: 'deny'; readonly code: ErrorCode; readonly rule: string; readonly message: string } | HoldVerdict;

/** The seam where guardrails, masking and approvals plug in. */
export interface Policy {
  evaluate(ctx: PolicyContext): PolicyVerdict | Promise<PolicyVerdict>;
}

/** The walking skeleton's policy: everything a grant lets through is allowed. */
export const allowAllPolicy: Policy = {
  evaluate: () => ({ action: 'allow' }),
};
