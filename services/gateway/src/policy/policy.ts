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

/** Expected outcomes are values. `hold` (approval) and `mask` arrive with the next issue. */
export type PolicyVerdict = { readonly action: 'allow'; readonly rule?: string } | { readonly action: 'deny'; readonly code: ErrorCode; readonly rule: string; readonly message: string };

/** The seam where guardrails, masking and approvals plug in. */
export interface Policy {
  evaluate(ctx: PolicyContext): PolicyVerdict | Promise<PolicyVerdict>;
}

/** The walking skeleton's policy: everything a grant lets through is allowed. */
export const allowAllPolicy: Policy = {
  evaluate: () => ({ action: 'allow' }),
};
