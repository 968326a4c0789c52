import type { Decision } from '@portcullis/proto';
import type { CancelSignal } from '../targets/target.js';

/** One running command: the decision subjects it answers to, and how to stop it. */
export interface Flight {
  readonly signal: CancelSignal;
  /** The decision that ended it, once one has. */
  blockedBy(): Decision | undefined;
  /** Ends it under this decision (a block that arrived as it started). */
  abort(decision: Decision): boolean;
  /** Leaves the registry (the command finished, either way). */
  done(): void;
}

/**
 * Commands running against targets, indexed by decision subject (`identity:…`,
 * `credential:…`, `origin:…`, `session:…`), so a newly applied block ends the ones it
 * covers: their signal aborts and the target cancels the statement.
 */
export class InFlight {
  private readonly bySubject = new Map<string, Set<FlightEntry>>();

  start(subjects: readonly string[]): Flight {
    const entry = new FlightEntry(subjects, (e) => this.remove(e));
    for (const s of subjects) {
      let set = this.bySubject.get(s);
      if (!set) this.bySubject.set(s, (set = new Set()));
      set.add(entry);
    }
    return entry;
  }

  /** Aborts every command running under `subject`; returns how many. */
  block(subject: string, decision: Decision): number {
    const set = this.bySubject.get(subject);
    if (!set) return 0;
    let n = 0;
    for (const e of [...set]) if (e.abort(decision)) n++;
    return n;
  }

  size(): number {
    const all = new Set<FlightEntry>();
    for (const set of this.bySubject.values()) for (const e of set) all.add(e);
    return all.size;
  }

  private remove(e: FlightEntry): void {
    for (const s of e.subjects) {
      const set = this.bySubject.get(s);
      if (!set) continue;
      set.delete(e);
      if (set.size === 0) this.bySubject.delete(s);
    }
  }
}

/** Its own cancellation signal (the CancelSignal a target listens on): no AbortController per command. */
class FlightEntry implements Flight, CancelSignal {
  private listeners: Array<() => void> | undefined;
  private decision: Decision | undefined;
  private finished = false;

  constructor(
    readonly subjects: readonly string[],
    private readonly onDone: (e: FlightEntry) => void,
  ) {}

  get signal(): CancelSignal {
    return this;
  }

  get aborted(): boolean {
    return this.decision !== undefined;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    // As with an AbortSignal, a listener added after the abort is not called.
    if (!this.aborted) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners?.splice(i, 1);
  }

  blockedBy(): Decision | undefined {
    return this.decision;
  }

  abort(decision: Decision): boolean {
    if (this.finished || this.decision) return false;
    this.decision = decision;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const l of listeners ?? []) {
      try {
        l();
      } catch {
        // One listener's failure must not keep the others from ending the command.
      }
    }
    return true;
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    this.onDone(this);
  }
}
