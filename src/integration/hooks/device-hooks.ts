import type { HookCallback, HookEvents, HookType } from './hook-events.js';

/**
 * The observable hooks of one device: callbacks per event type, called synchronously on
 * the main thread in registration order. A callback that throws is reported as a process
 * warning (code OPENREG_HOOK_ERROR) and does not affect the runtime or the other callbacks.
 */
export class DeviceHooks {
  readonly #callbacks = new Map<HookType, HookCallback<HookType>[]>();

  add<T extends HookType>(type: T, callback: HookCallback<T>): () => void {
    const list = this.#callbacks.get(type) ?? [];
    this.#callbacks.set(type, [...list, callback as HookCallback<HookType>]);
    return () => {
      const current = this.#callbacks.get(type) ?? [];
      this.#callbacks.set(
        type,
        current.filter((c) => c !== callback),
      );
    };
  }

  has(type: HookType): boolean {
    return (this.#callbacks.get(type)?.length ?? 0) > 0;
  }

  emit<T extends HookType>(type: T, event: HookEvents[T]): void {
    // Lists are replaced, never mutated: callbacks may register or dispose hooks while running.
    const list = this.#callbacks.get(type);
    if (list === undefined) return;
    for (const callback of list) {
      try {
        callback(event);
      } catch (error) {
        process.emitWarning(`openreg: a ${type} hook on device ${event.device} threw: ${error instanceof Error ? error.message : String(error)}`, {
          code: 'OPENREG_HOOK_ERROR',
          detail: error instanceof Error ? error.stack : undefined,
        });
      }
    }
  }
}
