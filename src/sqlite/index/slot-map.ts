/**
 * Chunk id → slot. Chunk ids are SQLite rowids, mostly small and dense: a
 * typed array indexed by id costs 4 bytes per id and no allocation per row,
 * where a Map costs tens; ids far above the row count go to a Map.
 */
export class SlotMap {
  #dense = new Int32Array(0);
  readonly #sparse = new Map<number, number>();

  get(id: number): number | undefined {
    if (id >= 0 && id < this.#dense.length) {
      const s = this.#dense[id]!;
      return s > 0 ? s - 1 : undefined;
    }
    return this.#sparse.get(id);
  }

  set(id: number, slot: number): void {
    if (Number.isInteger(id) && id >= 0 && (id < this.#dense.length || id < 2 ** 22)) {
      if (id >= this.#dense.length) {
        const grown = new Int32Array(Math.max(id + 1, this.#dense.length * 2, 1024));
        grown.set(this.#dense);
        this.#dense = grown;
      }
      this.#dense[id] = slot + 1;
      return;
    }
    this.#sparse.set(id, slot);
  }

  delete(id: number): void {
    if (id >= 0 && id < this.#dense.length) this.#dense[id] = 0;
    else this.#sparse.delete(id);
  }

  /** Bytes held (a Map entry counted as 40). */
  bytes(): number {
    return this.#dense.byteLength + this.#sparse.size * 40;
  }

  clear(): void {
    this.#dense = new Int32Array(0);
    this.#sparse.clear();
  }
}
