import { type OpMethod, defineOp } from '../define-op.js';
import { BinaryOp, UnaryOp } from './launch.js';
import { binaryKernel, planBinary, unaryOp } from './elementwise.js';

/**
 * Truth-value ops: any dtype in (zero is false, NaN true), bool out; in place they write
 * 0 or 1 in self's dtype, as PyTorch's do.
 */

export const LOGICAL_NOT = unaryOp('logical_not', UnaryOp.logicalNot, 'bool', { method: 'logicalNot', doc: 'true where self is zero' });

const logical = (name: string, op: BinaryOp, what: string) =>
  defineOp({
    schemas: [`${name}(Tensor self, Tensor other) -> Tensor`],
    method: name.replace(/_(\w)/, (_m, c: string) => c.toUpperCase()),
    out: true,
    result: planBinary('logical', op),
    kernel: binaryKernel('logical', op),
    doc: `true where ${what}, broadcast`,
  });

export const LOGICAL_AND = logical('logical_and', BinaryOp.logicalAnd, 'both are nonzero');
export const LOGICAL_OR = logical('logical_or', BinaryOp.logicalOr, 'either is nonzero');
export const LOGICAL_XOR = logical('logical_xor', BinaryOp.logicalXor, 'exactly one is nonzero');

declare module '../../tensor/tensor.js' {
  interface Tensor {
    logicalNot: OpMethod<[]>;
    logicalAnd: OpMethod<[other: Tensor]>;
    logicalOr: OpMethod<[other: Tensor]>;
    logicalXor: OpMethod<[other: Tensor]>;
  }
}
