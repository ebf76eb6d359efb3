import { type KernelConfig, getKernelsForBackend, registerBackend, registerKernel } from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { openreg } from '../ops/openreg-namespace.js';
import { cpuFallback } from './cpu-fallback.js';
import { NATIVE_KERNELS, nativeOrFallback } from './native-kernels.js';
import { OpenRegBackend } from './openreg-backend.js';

/** How each tfjs kernel runs on openreg: natively on the device (its uncovered cases still fall back), or through the CPU fallback. */
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
  const cpu = getKernelsForBackend('cpu');
  for (const name of names) {
    for (const k of cpu) {
      const native = NATIVE_KERNELS[k.kernelName];
      const fallback = cpuFallback(k);
      registerKernel({ kernelName: k.kernelName, backendName: name, kernelFunc: native === undefined ? fallback : nativeOrFallback(native, fallback) } as KernelConfig);
    }
  }
  const native = cpu.map((k) => k.kernelName).filter((k) => NATIVE_KERNELS[k] !== undefined);
  coverage = { native: native.sort(), fallback: cpu.map((k) => k.kernelName).filter((k) => NATIVE_KERNELS[k] === undefined).sort() };
  return coverage;
}

/** Which tfjs kernels openreg runs natively and which through the CPU fallback (registering the backends first if needed). */
export function kernelCoverage(): KernelCoverage {
  return registerOpenRegBackends();
}
