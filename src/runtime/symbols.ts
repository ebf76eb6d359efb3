/** Internal slots of public handles: not part of the API, shared by the library's modules. */
export const kQueue = Symbol('openreg.streamQueue');
export const kEventState = Symbol('openreg.eventState');
export const kKernelId = Symbol('openreg.kernelId');
export const kOwner = Symbol('openreg.owner');
