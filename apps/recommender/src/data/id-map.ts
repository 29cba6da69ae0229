/** Dense 0-based indices for external string ids, kept with every trained model. */
export class IdMap {
  private readonly index = new Map<string, number>();
  readonly ids: string[] = [];

  static from(ids: Iterable<string>): IdMap {
    const map = new IdMap();
    for (const id of ids) map.add(id);
    return map;
  }

  /** The index of `id`, adding it when new. */
  add(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.index.set(id, i);
    }
    return i;
  }

  get(id: string): number | undefined {
    return this.index.get(id);
  }

  id(index: number): string {
    const id = this.ids[index];
    if (id === undefined) throw new RangeError(`no id at index ${index}`);
    return id;
  }

  get size(): number {
    return this.ids.length;
  }
}
