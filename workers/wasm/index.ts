// The builtin kernels in WebAssembly SIMD (float32, and float16/bfloat16 matmul through float32), instantiated by each device worker on its
// device memory (and by each CPU-pool worker on its own): see workers/simd-kernels.ts.
export { binaryF32, binaryScalarF32, binaryRowsF32, binaryColsF32, axpyF32, binaryF64, binaryScalarF64, binaryRowsF64, binaryColsF64, axpyF64, negF32, absF32, reluF32, sqrtF32, expF32, logF32, tanhF32, sigmoidF32, reluGradF32, negF64, absF64, reluF64, sqrtF64, reluGradF64, binaryHalf, binaryScalarHalf, binaryRowsHalf, binaryColsHalf, unaryHalf } from './elementwise';
// The op codes the binary and unary kernels take, as exported globals: the JS side reads them from here.
export { ADD, SUB, MUL, DIV, MAXIMUM, MINIMUM, THRESHOLD_BACKWARD, NEG, ABS, RELU, SQRT, EXP, LOG, TANH, SIGMOID, RELU_GRAD } from './elementwise';
export { compareF32, compareScalarF32, compareF64, compareScalarF64, compareHalf, compareScalarHalf, EQ, NE, LT, LE, GT, GE } from './comparisons';
export { f32ToHalf, halfToF32, f32ToF64, f64ToF32 } from './conversions';
export { sumF32, maxF32, sumRowsF32, maxRowsF32, sumColsF32, sumF64, maxF64, sumRowsF64, maxRowsF64, sumColsF64, extremeRowsF32 } from './reductions';
export { softmaxRowsF32, softmaxBackwardRowsF32 } from './softmax';
export { matmulF32, matmulF64, matmulTransposedF32, matmulHalf, matmulHalfWorkspace } from './matmul';
