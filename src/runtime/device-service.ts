import { scheduleOptions } from './options.js';
import { openRegError } from '../errors/errors.js';
import { given, requireBoolean, requireFinite, requireFunction, requireOptions } from '../errors/validate.js';
import { DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT } from '../protocol/layout.js';
import { type DeviceWorkerStats, readDeviceStats } from '../protocol/worker-protocol.js';
import type { RuntimeCore } from './runtime-core.js';

/** Counters of one device, as its worker reports them, plus its memory use. */
export interface DeviceStats extends DeviceWorkerStats {
  /** Device memory in use, in bytes (rounded to the 256-byte alignment). */
  allocatedBytes: number;
  allocations: number;
}

/** Options of `close`. */
export interface CloseOptions {
  /** How long to wait for enqueued work before terminating the workers anyway. @default 30000 */
  timeoutMs?: number;
  /** Terminate at once, without waiting for enqueued work. @default false */
  force?: boolean;
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000;

/** Lower number = higher priority, as CUDA. */
export const PRIORITY_LEAST = 0;
export const PRIORITY_GREATEST = -5;

/** Devices: their workers' lifecycle, the current device, device-wide synchronization and reset. */
export class DeviceService {
  readonly #core: RuntimeCore;
  #closing: Promise<void> | undefined;
  /** Ends close()'s wait for enqueued work (a later close({ force: true })). */
  #stopWaiting: (() => void) | undefined;
  /** close({ force: true }) was called: workers are terminated without a shutdown handshake. */
  #forced = false;

  /** @internal */
  constructor(core: RuntimeCore) {
    this.#core = core;
  }

  /** Starts one worker per device and waits until each answers. */
  async start(): Promise<void> {
    const init = this.#core.workerInit();
    await Promise.all(this.#core.devices.map((d) => d.start(init)));
    this.#core.startWatchdog();
  }

  /** Starts one worker per device without waiting (lazy initialization): a worker that fails is a lost device. */
  spawn(): void {
    const init = this.#core.workerInit();
    for (const d of this.#core.devices) {
      d.spawn(init);
      // Its answer, in the background: a worker that never answers is lost through its exit event.
      void d.call('start', (r) => r.stats()).then(
        () => {
          d.answered = true;
        },
        () => undefined,
      );
    }
    this.#core.startWatchdog();
  }

  /**
   * Waits for enqueued work (at most `timeoutMs`), then terminates every worker. With
   * `force`, or called again with `force` while closing, work is not waited for.
   */
  close(options?: unknown): Promise<void> {
    const call = 'close';
    let timeoutMs: number;
    let force: boolean;
    try {
      const o = requireOptions<CloseOptions>(call, options);
      timeoutMs = requireFinite(call, 'options.timeoutMs', given(o.timeoutMs, DEFAULT_CLOSE_TIMEOUT_MS), 0, true);
      force = requireBoolean(call, 'options.force', given(o.force, false));
    } catch (error) {
      return Promise.reject(error);
    }
    if (force) {
      this.#forced = true;
      this.#stopWaiting?.();
    }
    this.#closing ??= this.#close(force ? 0 : timeoutMs);
    return this.#closing;
  }

  async #close(timeoutMs: number): Promise<void> {
    // Workers are unref'd: hold the process open until they are gone.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      const core = this.#core;
      // Let enqueued work finish; a failed or lost device has nothing left to finish.
      const idle = core.devices.map((device) => {
        const fence = core.deviceFence(device);
        return core.waiter.waitAsync([device], () => device.isLost || fence.complete).catch(() => undefined);
      });
      core.closed = true;
      // Work that never finishes (a hung kernel, a host function whose promise never settles) is abandoned.
      await new Promise<void>((resolve) => {
        const timer = timeoutMs === Infinity ? undefined : setTimeout(resolve, timeoutMs);
        this.#stopWaiting = resolve;
        void Promise.all(idle).then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      core.waiter.close();
      core.stopWatchdog();
      await Promise.all(core.devices.map((d) => d.close(this.#forced)));
    } finally {
      clearInterval(keepAlive);
    }
  }

  getDeviceCount(): number {
    this.#core.open('getDeviceCount');
    return this.#core.devices.length;
  }

  getDevice(): number {
    this.#core.open('getDevice');
    return this.#core.current.get();
  }

  setDevice(device: unknown): void {
    this.#core.current.set(this.#core.deviceIndex('setDevice', device));
  }

  exchangeDevice(device: unknown, call = 'exchangeDevice'): number {
    const d = this.#core.deviceIndex(call, device);
    const previous = this.#core.current.get();
    this.#core.current.set(d);
    return previous;
  }

  withDevice<T>(device: unknown, fn: unknown): T {
    const call = 'withDevice';
    const d = this.#core.deviceIndex(call, device);
    return this.#core.current.run(d, requireFunction<() => T>(call, 'fn', fn));
  }

  deviceSynchronize(options?: unknown): Promise<void> {
    const call = 'deviceSynchronize';
    try {
      const core = this.#core;
      const device = core.currentDevice(call);
      const bounds = core.waitBounds(call, options);
      if (core.hostFunctions.waitsForItselfOn(device.index)) throw openRegError('awaitsOwnHostFunction', { call });
      const fence = core.deviceFence(device);
      const start = core.beginSync(call, device.index);
      return core.waiter.waitAsync([device], core.until(call, [device], () => fence.complete), bounds).then(() => {
        device.memory.collect();
        core.endSync(call, device.index, undefined, undefined, start);
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  deviceSynchronizeSync(options?: unknown): void {
    const call = 'deviceSynchronizeSync';
    const core = this.#core;
    const device = core.currentDevice(call);
    const timeoutMs = core.syncTimeout(call, options);
    const fence = core.deviceFence(device);
    const start = core.beginSync(call, device.index);
    core.waitSync(call, [device], core.until(call, [device], () => fence.complete), timeoutMs);
    device.memory.collect();
    core.endSync(call, device.index, undefined, undefined, start);
  }

  deviceGetStreamPriorityRange(): { least: number; greatest: number } {
    this.#core.open('deviceGetStreamPriorityRange');
    return { least: PRIORITY_LEAST, greatest: PRIORITY_GREATEST };
  }

  async deviceReset(device: unknown): Promise<void> {
    const core = this.#core;
    const d = core.devices[this.#core.deviceIndex('deviceReset', device)]!;
    core.hostFunctions.dropDevice(d.index);
    core.events.releaseDevice(d.index);
    core.pools.dropDevice(d.index);
    if (core.observer.listeners.deviceReset !== undefined) core.observer.emit('deviceReset', { device: d.index });
    await d.reset(async () => {
      await d.start(core.workerInit());
      for (const m of core.modules) await d.call('deviceReset', (r) => r.loadModule(m.id, m.url));
    });
    core.waiter.arm();
  }

  /** Read from shared memory, not asked of the worker: a device busy in (or hung in) a kernel still answers. */
  /** Starts, re-seeds or (undefined) stops schedule fuzzing on every device, from their next command. */
  async setSchedule(schedule: unknown): Promise<void> {
    const call = 'setSchedule';
    const core = this.#core;
    core.open(call);
    const resolved = schedule === undefined ? undefined : scheduleOptions(call, schedule, 'schedule');
    core.schedule = resolved;
    await Promise.all(core.devices.filter((d) => !d.isLost).map((d) => d.call(call, (r) => r.setSchedule(resolved))));
  }

  async deviceStats(device: unknown): Promise<DeviceStats> {
    const call = 'deviceStats';
    const d = this.#core.devices[this.#core.deviceIndex(call, device)]!;
    if (d.isLost) throw d.error(call);
    const stats = readDeviceStats(d.index, new Float64Array(d.controlBuffer, DEVICE_STATS_OFFSET, DEVICE_STAT_COUNT));
    return {
      ...stats,
      // Pageable copies the host did itself count as the device's, and built-in modules do not.
      copies: stats.copies + d.hostCopies.count,
      bytesCopied: stats.bytesCopied + d.hostCopies.bytes,
      modules: this.#core.modules.length,
      allocatedBytes: d.memory.liveBytes,
      allocations: d.memory.liveCount,
    };
  }
}
