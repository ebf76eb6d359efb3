/** Element types of the built-in random fills (they cross as the fill tensor's dtype code). */
export type RandomDType = 'float32' | 'float64' | 'int32';

export const RANDOM_DTYPE_BYTES: Readonly<Record<RandomDType, number>> = { float32: 4, float64: 8, int32: 4 };
