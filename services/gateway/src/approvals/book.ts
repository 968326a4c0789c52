import { effectiveStatus, mergeStates, sameState, type ApprovalState } from './state.js';

type Listener = (state: ApprovalState) => void;

/**
 * The gateway's view of every approval it knows, from its own actions and from
 * portcullis.approvals. Every state arriving is merged into what is there (see
 * mergeStates), so a replayed or reordered record changes nothing, and watchers hear
 * only of real changes. No I/O: the feed and the service feed it.
 */
export class ApprovalBook {
  private readonly states = new Map<string, ApprovalState>();
  private readonly listeners = new Map<string, Set<Listener>>();

  get(id: string): ApprovalState | undefined {
    return this.states.get(id);
  }

  all(): IterableIterator<ApprovalState> {
    return this.states.values();
  }

  size(): number {
    return this.states.size;
  }

  pendingCount(now: number): number {
    let n = 0;
    for (const s of this.states.values()) if (effectiveStatus(s, now) === 'pending') n++;
    return n;
  }

  /** Merges `incoming` in; returns the merged state and whether anything changed. */
  apply(incoming: ApprovalState): { state: ApprovalState; changed: boolean } {
    const id = incoming.request.approvalId;
    const current = this.states.get(id);
    const state = current ? mergeStates(current, incoming) : incoming;
    const changed = !current || !sameState(current, state);
    if (changed) {
      this.states.set(id, state);
      for (const fn of this.listeners.get(id) ?? []) fn(state);
    }
    return { state, changed };
  }

  /** Calls `fn` on every change of approval `id` until the returned function is called. */
  watch(id: string, fn: Listener): () => void {
    let set = this.listeners.get(id);
    if (!set) this.listeners.set(id, (set = new Set()));
    set.add(fn);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  /**
   * Forgets decided approvals last touched before `olderThan`, so memory stays bounded by
   * the traffic of the retention window; the topic keeps the record for audit.
   */
  prune(now: number, olderThan: number): number {
    let n = 0;
    for (const [id, s] of this.states) {
      if (effectiveStatus(s, now) !== 'pending' && effectiveStatus(s, now) !== 'approved' && s.updatedAt < olderThan && !this.listeners.has(id)) {
        this.states.delete(id);
        n++;
      }
    }
    return n;
  }
}
