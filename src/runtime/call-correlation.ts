import { AsyncLocalStorage } from 'node:async_hooks';
import { requireFunction, requireInteger } from '../errors/validate.js';

/**
 * Correlation ids of API calls: each traced call gets the id on top of its async
 * context's stack (pushed by the user), or a fresh one. Commands carry the id of the call
 * that enqueued them, which links host spans to device spans.
 */
export class CallCorrelation {
  readonly #stacks = new AsyncLocalStorage<number[]>();
  readonly #root: number[] = [];
  #next = 1;

  /** The id for a call starting now. */
  next(): number {
    const stack = this.#stacks.getStore() ?? this.#root;
    return stack.length > 0 ? stack[stack.length - 1]! : this.#next++ & 0x7fffffff || this.#next++;
  }

  push(call: string, id: unknown): void {
    (this.#stacks.getStore() ?? this.#root).push(requireInteger(call, 'id', id, 1, 0x7fffffff));
  }

  pop(): number | undefined {
    return (this.#stacks.getStore() ?? this.#root).pop();
  }

  /** Runs `fn` with correlation id `id` in a scope of its own. */
  run<T>(call: string, id: unknown, fn: unknown): T {
    const body = requireFunction<() => T>(call, 'fn', fn);
    const stack = [...(this.#stacks.getStore() ?? this.#root)];
    return this.#stacks.run(stack, () => {
      this.push(call, id);
      return body();
    });
  }
}
