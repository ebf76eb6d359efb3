import { type KernelConfig, getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openreg } from '../ops/openreg-namespace.js';
import { cpuFallback } from './cpu-fallback.js';
import { NATIVE_KERNELS } from './native-kernels.js';
import { OpenRegBackend } from './openreg-backend.js';

/** How each tfjs kernel runs on openreg: natively on the device, or through the CPU fallback. */
export interface KernelCoverage {
  native: string[];
  fallback: string[];
}

let coverage: KernelCoverage | undefined;

/**
 * Registers `openreg` (tensors on the current device) and `openreg:0` … `openreg:N−1` (each
 * pinned to one device) with TensorFlow.js, and their kernels: openreg's own where it has
 * them, every other kernel of tfjs-backend-cpu through the CPU fallback. Below the `cpu`
 * backend's priority: `tf.setBackend('openreg')` chooses it.
 */
export function registerOpenRegBackends(): KernelCoverage {
  if (coverage !== undefined) return coverage;
  const names = ['openreg', ...Array.from({ length: openreg.deviceCount() }, (_, d) => `openreg:${d}`)];
  names.forEach((name, i) => registerBackend(name, () => new OpenRegBackend(i === 0 ? undefined : i - 1), 0));
  const native = new Set(NATIVE_KERNELS.map((k) => k.kernelName));
  const fallback = getKernelsForBackend('cpu').filter((k) => !native.has(k.kernelName));
  for (const name of names) {
    for (const k of NATIVE_KERNELS) registerKernel({ ...k, backendName: name });
    for (const k of fallback) registerKernel({ kernelName: k.kernelName, backendName: name, kernelFunc: cpuFallback(k) } as KernelConfig);
  }
  coverage = { native: [...native].sort(), fallback: fallback.map((k) => k.kernelName).sort() };
  return coverage;
}
