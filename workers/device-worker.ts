/**
 * Entry point of a device worker: one per emulated device. The stream engine drains the
 * command rings; comlink serves the control plane (module loading, reset, stats).
 */
import { expose } from 'comlink';
import { parentPort, workerData } from 'node:worker_threads';
import { comlinkEndpoint } from '../src/protocol/comlink-endpoint.js';
import { installErrorTransfer } from '../src/protocol/error-transfer.js';
import { DeviceWord } from '../src/protocol/layout.js';
import { markDeviceLost } from '../src/protocol/sticky-error.js';
import { wakeMain, wakeWatchers } from '../src/protocol/wake.js';
import type { DeviceWorkerApi, DeviceWorkerInit } from '../src/protocol/worker-protocol.js';
import { BUILTIN_KERNELS, BUILTIN_MODULE_ID } from '../src/protocol/tensor-kernel-signatures.js';
import * as builtins from './builtin-kernels.js';
import { StreamEngine } from './stream-engine.js';
import { SimdKernels, installSimdKernels } from './simd-kernels.js';

const init = workerData as DeviceWorkerInit;
// The device's heap is its wasm memory's buffer (this thread's handle on it), so the wasm kernels find their operands in place.
const memory = init.memories[init.device]!;
init.heaps[init.device] = memory.buffer as SharedArrayBuffer;
installSimdKernels(SimdKernels.inPlace(memory));
const control = new Int32Array(init.controls[init.device]!);
const runtimeWords = new Int32Array(init.runtimeBlock);
const engine = new StreamEngine(init);
let shuttingDown = false;

// A kernel that calls process.exit() ends this thread: say so in shared memory first,
// so that a main thread blocked in a synchronous wait sees the loss at once.
process.on('exit', (code) => {
  if (shuttingDown) return;
  markDeviceLost(control, `device ${init.device}'s worker exited with code ${code}`);
  wakeWatchers(control, init.controls.map((b) => new Int32Array(b)), runtimeWords);
  wakeMain(runtimeWords);
});

installErrorTransfer();

const api: DeviceWorkerApi = {
  loadModule: (moduleId, url) => engine.loadModule(moduleId, url),
  reset: () => engine.reset(),
  stats: () => engine.stats(),
  setSchedule: (schedule) => engine.setSchedule(schedule),
  shutdown: () => {
    shuttingDown = true;
    engine.stop();
    Atomics.add(control, DeviceWord.DOORBELL, 1);
  },
};

expose(api, comlinkEndpoint(parentPort!));
// The built-in kernels are there before the first command: the host knows their ids without asking.
const installed = engine.installModule(BUILTIN_MODULE_ID, builtins, 'builtin-kernels');
if (installed.names.join() !== BUILTIN_KERNELS.map((k) => k.name).join()) {
  throw new Error(`the built-in kernels (${installed.names.join(', ')}) are not the ones the protocol lists (${BUILTIN_KERNELS.map((k) => k.name).join(', ')})`);
}
engine.start();
