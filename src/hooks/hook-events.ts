import type { OpenRegError } from '../errors/openreg-error.js';
import type { DevicePtr } from '../protocol/pointer.js';

/** What the observable hooks report, one type per kind of runtime activity on a device. */
export interface HookEvents {
  allocation: { device: number; ptr: DevicePtr; size: number };
  free: { device: number; ptr: DevicePtr };
  kernelLaunch: { device: number; stream: number; kernel: string; argc: number };
  copy: { device: number; stream: number; bytes: number; kind: string; call: string };
  synchronization: { device: number; call: string; stream?: number };
  error: { device: number; error: OpenRegError };
}

export type HookType = keyof HookEvents;
export type HookCallback<T extends HookType> = (event: HookEvents[T]) => void;

export const HOOK_TYPES: readonly HookType[] = ['allocation', 'free', 'kernelLaunch', 'copy', 'synchronization', 'error'];

/** Removes a registration; also usable with `using`. Calling it twice is harmless. */
export interface HookDisposer extends Disposable {
  (): void;
}
