/**
 * A bounded set of recently emitted alert ids, oldest dropped first. It backs up the
 * deterministic alert ids: a scorer whose state does not itself suppress a repeat (a
 * threshold crossed again by a re-delivered event) still emits each alert once.
 */
export class RecentIds {
  private readonly ids: Set<string>;

  constructor(
    readonly capacity: number,
    ids: Iterable<string> = [],
  ) {
    this.ids = new Set(ids);
    this.trim();
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    this.trim();
  }

  get size(): number {
    return this.ids.size;
  }

  clone(): RecentIds {
    return new RecentIds(this.capacity, this.ids);
  }

  serialize(): Buffer {
    return Buffer.from(JSON.stringify([...this.ids]));
  }

  static deserialize(capacity: number, b: Buffer): RecentIds {
    return new RecentIds(capacity, JSON.parse(b.toString('utf8')) as string[]);
  }

  private trim(): void {
    for (const id of this.ids) {
      if (this.ids.size <= this.capacity) return;
      this.ids.delete(id);
    }
  }
}
