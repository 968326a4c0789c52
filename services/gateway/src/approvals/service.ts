import { PcxError, uuidv7, type Logger } from '@portcullis/common';
import type { EventPublisher } from '../events/publisher.js';
import type { Identity } from '../identity/authenticator.js';
import type { HoldVerdict } from '../policy/policy.js';
import type { ApprovalBook } from './book.js';
import { encodeApprovalState } from './codec.js';
import {
  castVote,
  checkRedeemable,
  effectiveStatus,
  expire,
  isVisibleTo,
  openApproval,
  redeem,
  type ApprovalState,
  type ApprovalStatus,
  type BoundCommand,
  type Outcome,
  type VoteKind,
} from './state.js';
import type { ApprovalNotifier } from './webhook.js';

/** What the gateway knows of a held command when it opens an approval. */
export interface HeldCommand extends BoundCommand {
  readonly requesterCredentialId: string;
  readonly environment: string;
  readonly sessionId: string;
  readonly requestId: string;
  readonly statementType: string;
}

export interface ApprovalServiceOptions {
  readonly book: ApprovalBook;
  readonly publisher: EventPublisher;
  readonly topic: string;
  readonly notifier: ApprovalNotifier;
  readonly logger: Logger;
  readonly defaultTtlMs: number;
  readonly maxWaitMs: number;
  readonly now?: () => number;
  readonly onOpened?: () => void;
}

/**
 * Approvals as the gateway acts on them: the pure state machine applied to the book,
 * each new state published on portcullis.approvals (whole state, keyed by id). Refusals
 * are PcxErrors with stable codes. The book is updated before the record is published,
 * so this replica answers from its own writes at once; other replicas converge through
 * the topic.
 */
export class ApprovalService {
  private readonly now: () => number;

  constructor(private readonly opts: ApprovalServiceOptions) {
    this.now = opts.now ?? Date.now;
  }

  get maxWaitMs(): number {
    return this.opts.maxWaitMs;
  }

  clock(): number {
    return this.now();
  }

  open(command: HeldCommand, hold: HoldVerdict): ApprovalState {
    const state = openApproval(
      {
        approvalId: uuidv7(),
        connection: command.connection,
        requester: command.requester,
        requesterCredentialId: command.requesterCredentialId,
        fingerprint: command.fingerprint,
        commandText: command.commandText,
        commandSha256: command.commandSha256,
        destination: command.destination,
        ruleId: hold.ruleId,
        reason: hold.reason,
        requiredApprovals: Math.max(1, hold.requiredApprovals),
        approverGroups: hold.approverGroups,
        environment: command.environment,
        sessionId: command.sessionId,
        requestId: command.requestId,
      },
      this.now(),
      hold.ttlMs ?? this.opts.defaultTtlMs,
    );
    this.commit(state);
    this.opts.onOpened?.();
    this.opts.notifier.opened(state, command.statementType);
    this.opts.logger.info(
      { approval_id: state.request.approvalId, request_id: command.requestId, session_id: command.sessionId, connection: command.connection, subject: command.requester, rule: hold.ruleId },
      'approval opened',
    );
    return state;
  }

  /** A vote by an authenticated identity. PCX_NOT_FOUND for ids it may not see, as for ids that do not exist. */
  vote(voter: Identity, approvalId: string, vote: VoteKind, comment: string): ApprovalState {
    const state = this.visible(voter, approvalId);
    const next = unwrap(castVote(state, voter, vote, comment.slice(0, 1000), this.now()));
    const merged = this.commit(next);
    this.opts.logger.info({ approval_id: approvalId, approver: voter.subject, vote, status: merged.status }, 'approval vote');
    return merged;
  }

  get(who: Identity, approvalId: string): ApprovalState {
    return this.visible(who, approvalId);
  }

  /** The approvals `who` may see (their own requests and those they may approve), newest first. */
  list(who: Identity, status?: ApprovalStatus): ApprovalState[] {
    const now = this.now();
    const out: ApprovalState[] = [];
    for (const s of this.opts.book.all()) {
      if (isVisibleTo(s, who) && (!status || effectiveStatus(s, now) === status)) out.push(s);
    }
    return out.sort((a, b) => b.request.createdAt - a.request.createdAt);
  }

  /** Checks the binding and status, and marks the approval USED by `requestId`: one run per approval. */
  redeem(approvalId: string, command: BoundCommand, requestId: string): ApprovalState {
    const state = this.opts.book.get(approvalId);
    if (!state) throw notFound(approvalId);
    const used = this.commit(unwrap(redeem(state, command, requestId, this.now())));
    this.opts.logger.info({ approval_id: approvalId, request_id: requestId }, 'approval used');
    return used;
  }

  /** Why `state` cannot run `command` now (denied, expired, used, another command): the error redeem would throw. */
  redeemRefusal(state: ApprovalState, command: BoundCommand): PcxError {
    const o = checkRedeemable(state, command, this.now());
    return o.ok ? new PcxError('PCX_INTERNAL', `approval ${state.request.approvalId} is redeemable`) : o.error;
  }

  status(state: ApprovalState): ApprovalStatus {
    return effectiveStatus(state, this.now());
  }

  /**
   * Resolves with the approval's state once it is no longer pending (decided or expired),
   * or at `untilMs` (this service's clock), whichever comes first. `onChange` hears each
   * change in between. `signal` ends the wait early (a cancelled call).
   */
  wait(approvalId: string, untilMs: number, onChange?: (s: ApprovalState) => void, signal?: AbortSignal): Promise<ApprovalState> {
    const first = this.opts.book.get(approvalId);
    if (!first) return Promise.reject(notFound(approvalId));
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let finished = false;
      const current = (): ApprovalState => this.opts.book.get(approvalId) ?? first;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        unwatch();
        clearTimeout(timer);
        signal?.removeEventListener('abort', finish);
        resolve(current());
      };
      const settled = (): boolean => this.status(current()) !== 'pending' || this.now() >= untilMs || signal?.aborted === true;
      // Re-armed rather than trusted: the wake-up is for the deadline or the expiry, whichever is first.
      const arm = (): void => {
        if (settled()) return finish();
        const wakeAt = Math.min(untilMs, current().request.expiresAt);
        timer = setTimeout(arm, Math.max(1, wakeAt - this.now()));
        timer.unref();
      };
      const unwatch = this.opts.book.watch(approvalId, (s) => {
        onChange?.(s);
        if (settled()) finish();
      });
      signal?.addEventListener('abort', finish);
      arm();
    });
  }

  /** Records lapsed approvals as EXPIRED and forgets decided ones older than `retentionMs`. */
  sweep(retentionMs: number): void {
    const now = this.now();
    for (const s of [...this.opts.book.all()]) {
      const lapsed = expire(s, now);
      if (lapsed) this.commit(lapsed);
    }
    this.opts.book.prune(now, now - retentionMs);
  }

  private visible(who: Identity, approvalId: string): ApprovalState {
    const state = this.opts.book.get(approvalId);
    if (!state || !isVisibleTo(state, who)) throw notFound(approvalId);
    return state;
  }

  private commit(state: ApprovalState): ApprovalState {
    const { state: merged, changed } = this.opts.book.apply(state);
    if (changed) this.opts.publisher.publish(this.opts.topic, { key: merged.request.approvalId, value: encodeApprovalState(merged), timestamp: merged.updatedAt });
    return merged;
  }
}

function unwrap<T>(o: Outcome<T>): T {
  if (!o.ok) throw o.error;
  return o.value;
}

function notFound(approvalId: string): PcxError {
  return new PcxError('PCX_NOT_FOUND', `no approval ${JSON.stringify(approvalId.slice(0, 64))}`, { approvalId: approvalId.slice(0, 64) });
}
