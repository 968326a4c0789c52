/**
 * One store's entity states in one partition, for the batch loop in core.ts: a key index,
 * least-recently-updated order as an intrusive list (moving an entry to the back costs a
 * few pointer writes, not a map delete and insert), and per batch the entries it made
 * dirty, each with its rollback copy, in the order they first changed.
 *
 * An entry is dirty in a batch once `markDirty` gave it its state from before the batch
 * (a copy for a state updated in place, the object itself for one that is replaced;
 * ABSENT when the entity did not exist). A dirty entry is written to the changelog once,
 * with whatever state it ends the batch in (a tombstone if it was removed), and
 * `rollback` puts every dirty entry back. An entity removed and created again within one
 * batch keeps its entry, so it is still one record and one rollback copy.
 *
 * The copies are held by the batch's Dirty list, not by the entries: `end` hands the
 * list to the caller, so they die with the batch's result instead of being kept alive
 * (and promoted to the old generation) by long-lived entries.
 */
export const ABSENT: unique symbol = Symbol('absent');

export interface Entry {
  readonly key: string;
  state: unknown;
  /** In the key index and the LRU list (false once removed). */
  linked: boolean;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** The batch that made it dirty (0: none yet). */
  batch: number;
}

/** One batch's dirty entries, in the order they first changed, with their states before the batch (or ABSENT). */
export interface Dirty {
  readonly entries: Entry[];
  readonly before: unknown[];
}

export class EntityStore {
  private readonly byKey = new Map<string, Entry>();
  private head: Entry | undefined;
  private tail: Entry | undefined;
  private batch = 0;
  private dirty: Dirty = { entries: [], before: [] };
  /** Entries removed in this batch, by key (rare: bound and sweep), so a re-created entity keeps its entry. */
  private removed: Map<string, Entry> | undefined;

  get size(): number {
    return this.byKey.size;
  }

  get(key: string): Entry | undefined {
    return this.byKey.get(key);
  }

  /** Starts batch `batch` (ids increase). */
  begin(batch: number): void {
    this.batch = batch;
    this.dirty = { entries: [], before: [] };
    this.removed = undefined;
  }

  /** This batch's dirty entries and their copies, handed over (the store keeps no reference). */
  end(): Dirty {
    const d = this.dirty;
    this.dirty = { entries: [], before: [] };
    this.removed = undefined;
    return d;
  }

  isDirty(e: Entry): boolean {
    return e.batch === this.batch;
  }

  /** Makes `e` dirty with its pre-batch state (no-op when it already is). */
  markDirty(e: Entry, before: unknown): void {
    if (e.batch === this.batch) return;
    e.batch = this.batch;
    this.dirty.entries.push(e);
    this.dirty.before.push(before);
  }

  /** Takes back the markDirty just made (the update it prepared for changed nothing). */
  unmarkDirty(e: Entry): void {
    const { entries, before } = this.dirty;
    if (e.batch !== this.batch || entries[entries.length - 1] !== e) return;
    entries.pop();
    before.pop();
    e.batch = 0;
  }

  /** A new entity as the most recently updated, dirty (ABSENT before) unless it was removed earlier in this batch. */
  insert(key: string, state: unknown): Entry {
    let e = this.removed?.get(key);
    if (e) this.removed?.delete(key);
    else {
      e = { key, state, linked: false, prev: undefined, next: undefined, batch: 0 };
      this.markDirty(e, ABSENT);
    }
    e.state = state;
    this.link(e);
    return e;
  }

  /** Marks `e` most recently updated. */
  touch(e: Entry): void {
    if (this.tail === e) return;
    this.unlinkList(e);
    this.appendList(e);
  }

  /** Drops an entity (dirty, with its current state as the copy unless it already has one). */
  remove(e: Entry): void {
    if (!e.linked) return;
    this.markDirty(e, e.state);
    this.unlink(e);
    (this.removed ??= new Map()).set(e.key, e);
  }

  /** The least recently updated entry. */
  oldest(): Entry | undefined {
    return this.head;
  }

  /** Puts every entry of a batch's Dirty list (this store's latest batch) back as it was before that batch. */
  rollback(d: Dirty): void {
    for (let i = d.entries.length - 1; i >= 0; i--) {
      const e = d.entries[i] as Entry;
      const before = d.before[i];
      if (before === ABSENT) {
        if (e.linked) this.unlink(e);
      } else {
        e.state = before;
        if (!e.linked) this.link(e);
      }
      e.batch = 0;
    }
    this.dirty = { entries: [], before: [] };
    this.removed = undefined;
  }

  /** Restore from a changelog (outside any batch): the entity's latest state, or none. */
  restore(key: string, state: unknown): void {
    const old = this.byKey.get(key);
    if (old) this.unlink(old);
    if (state !== undefined) this.link({ key, state, linked: false, prev: undefined, next: undefined, batch: 0 });
  }

  /** Entries from least to most recently updated; removing the current one while iterating is safe. */
  *entries(): Generator<Entry> {
    for (let e = this.head; e !== undefined; ) {
      const next = e.next;
      yield e;
      e = next;
    }
  }

  private link(e: Entry): void {
    this.byKey.set(e.key, e);
    e.linked = true;
    this.appendList(e);
  }

  private unlink(e: Entry): void {
    this.byKey.delete(e.key);
    e.linked = false;
    this.unlinkList(e);
  }

  private appendList(e: Entry): void {
    e.prev = this.tail;
    e.next = undefined;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
  }

  private unlinkList(e: Entry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = undefined;
    e.next = undefined;
  }
}
