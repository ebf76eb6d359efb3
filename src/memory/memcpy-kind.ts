/** Direction of a copy (`cudaMemcpyKind`); `default` infers it from the pointers. */
export const MemcpyKind = {
  hostToHost: 'hostToHost',
  hostToDevice: 'hostToDevice',
  deviceToHost: 'deviceToHost',
  deviceToDevice: 'deviceToDevice',
  default: 'default',
} as const;

export type MemcpyKind = (typeof MemcpyKind)[keyof typeof MemcpyKind];

export function isMemcpyKind(value: unknown): value is MemcpyKind {
  return typeof value === 'string' && Object.hasOwn(MemcpyKind, value);
}
