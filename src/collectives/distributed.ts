// torch.distributed for openreg devices in one process: collectives, one rank per device.
export { allReduce, broadcast, allGather, reduceScatter, barrier, Work } from './collectives.js';
export type { ReduceOp, CollectiveOptions } from './collectives.js';
