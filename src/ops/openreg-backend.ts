import { dispatcher } from '../dispatch/registry.js';
import { registerStub } from '../dispatch/stubs.js';
import type { Tensor } from '../tensor/tensor.js';
import { cpuFallback } from './cpu-fallback.js';
import { absKernel } from './builtin/linalg.js';
import { executorOf } from './register.js';

/**
 * The openreg backend's registrations beyond its native kernels, in the forms OpenReg
 * shows: a stub kernel, a per-op fallback, the global fallback, and a blocklist.
 */

/** Ops that fail on openreg rather than fall back to the CPU. */
export const OPENREG_BLOCKLIST = ['aten::pow.Tensor_Tensor', 'openreg::pin_memory'] as const;

registerStub('abs_stub', 'openreg', (out: Tensor, self: Tensor) => absKernel(executorOf('abs', [out]), out, self));
registerStub('abs_stub', 'cpu', (out: Tensor, self: Tensor) => absKernel(executorOf('abs', [out]), out, self));

// Per-op fallback: sub.Tensor is bound to the CPU fallback by name.
dispatcher.impl('openreg', 'sub.Tensor', 'openreg', (_next, ...args) => cpuFallback(dispatcher.schema('openreg', 'sub.Tensor'), args));

// Global fallback: every op with no openreg kernel runs on the CPU.
dispatcher.fallback('openreg', 'openreg', (schema, _next, ...args) => cpuFallback(schema, args));

for (const name of OPENREG_BLOCKLIST) dispatcher.block('openreg', name, 'openreg');
