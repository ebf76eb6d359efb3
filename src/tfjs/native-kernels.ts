import type { KernelConfig, TensorInfo } from '@tensorflow/tfjs-core';
import type { OpenRegBackend } from './openreg-backend.js';

/** The tfjs kernels openreg runs natively, as device work (each replaces a CPU fallback). */
export const NATIVE_KERNELS: readonly Omit<KernelConfig, 'backendName'>[] = [
  {
    // No copy: the output shares the input's data, as tfjs's backends do.
    kernelName: 'Reshape',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const x = inputs.x as TensorInfo;
      const b = backend as OpenRegBackend;
      b.incRef(x.dataId);
      const size = x.shape.reduce((p, n) => p * n, 1);
      const requested = (attrs as { shape: number[] }).shape;
      const known = requested.reduce((p, n) => (n === -1 ? p : p * n), 1);
      return { dataId: x.dataId, shape: requested.map((n) => (n === -1 ? size / known : n)), dtype: x.dtype };
    },
  },
  {
    kernelName: 'Identity',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as TensorInfo;
      (backend as OpenRegBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  },
];
