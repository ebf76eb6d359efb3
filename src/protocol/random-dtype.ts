/** Element types of the built-in random fills; the numbers cross into the device worker. */
export const RandomDType = { float32: 0, float64: 1, int32: 2 } as const;
export type RandomDType = keyof typeof RandomDType;

export const RANDOM_DTYPE_BYTES: Readonly<Record<RandomDType, number>> = { float32: 4, float64: 8, int32: 4 };
