/**
 * Unified addressing: a device pointer is a plain number. Device d's heap starts at
 * (d + 1) * 2^40, so the owning device is derivable from any pointer, `ptr + k`
 * addresses byte k of an allocation, and 0 is never a valid device address.
 */
export type DevicePtr = number;

export const DEVICE_ADDRESS_SPAN = 2 ** 40;

export function deviceBase(device: number): DevicePtr {
  return (device + 1) * DEVICE_ADDRESS_SPAN;
}

/** The device a pointer belongs to, or -1 if it is not in any device's range. */
export function deviceOfPointer(ptr: number, deviceCount: number): number {
  if (!Number.isSafeInteger(ptr) || ptr < DEVICE_ADDRESS_SPAN) return -1;
  const device = Math.floor(ptr / DEVICE_ADDRESS_SPAN) - 1;
  return device < deviceCount ? device : -1;
}

/** Byte offset of a pointer within its device's heap. */
export function heapOffset(ptr: DevicePtr, device: number): number {
  return ptr - deviceBase(device);
}
