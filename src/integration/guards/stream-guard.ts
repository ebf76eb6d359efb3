import type { RuntimeApi } from '../../runtime/runtime-api.js';
import type { Stream } from '../../runtime/handles.js';

/**
 * Makes `stream` the current stream of its device, and its device the current device,
 * until disposed (`c10::StreamGuard`): `using guard = rt.streamGuard(s);`.
 */
export class StreamGuard implements Disposable {
  readonly originalDevice: number;
  /** The stream current on the guarded stream's device before the guard. */
  readonly originalStream: Stream;
  readonly #runtime: RuntimeApi;
  #active = true;

  /** @internal use rt.streamGuard(stream) */
  constructor(runtime: RuntimeApi, stream: Stream) {
    this.#runtime = runtime;
    this.originalStream = runtime.getCurrentStream(stream.device);
    this.originalDevice = runtime.exchangeDevice(stream.device);
    runtime.setCurrentStream(stream);
  }

  [Symbol.dispose](): void {
    if (!this.#active) return;
    this.#active = false;
    if (this.#runtime.closed) return;
    const device = this.originalStream.device;
    try {
      this.#runtime.setCurrentStream(this.originalStream);
    } catch {
      // The original stream was destroyed meanwhile: its device falls back to the default stream.
      this.#runtime.setCurrentStream(this.#runtime.defaultStream(device));
    }
    this.#runtime.setDevice(this.originalDevice);
  }
}
