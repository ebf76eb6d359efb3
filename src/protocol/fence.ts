/**
 * A snapshot of stream positions: complete once every listed stream has completed the
 * command it had submitted when the snapshot was taken. Used to defer frees until all
 * earlier work that may touch the memory has finished.
 */
export class Fence {
  #words: Int32Array[] = [];
  #indices: number[] = [];
  #seqs: number[] = [];

  /** Adds "stream whose COMPLETED word is `words[index]` has completed `seq`". */
  add(words: Int32Array, index: number, seq: number): void {
    if (((Atomics.load(words, index) - seq) | 0) >= 0) return;
    this.#words.push(words);
    this.#indices.push(index);
    this.#seqs.push(seq);
  }

  get complete(): boolean {
    while (this.#words.length > 0) {
      const last = this.#words.length - 1;
      if (((Atomics.load(this.#words[last]!, this.#indices[last]!) - this.#seqs[last]!) | 0) < 0) return false;
      this.#words.pop();
      this.#indices.pop();
      this.#seqs.pop();
    }
    return true;
  }
}
