/**
 * One worker serving the baselines a user would otherwise reach for: raw postMessage
 * (echo), a comlink call (noop), and the consumer end of the bare Atomics ring.
 */
import { expose } from 'comlink';
import { parentPort, workerData } from 'node:worker_threads';
import { comlinkEndpoint } from '../../src/protocol/comlink-endpoint.js';
import { consumeRing } from './atomics-ring.js';

const { mode, ring } = workerData as { mode: 'echo' | 'comlink' | 'ring'; ring?: SharedArrayBuffer };
const port = parentPort!;

if (mode === 'echo') {
  port.on('message', (message) => port.postMessage(message));
} else if (mode === 'comlink') {
  expose({ noop: () => undefined }, comlinkEndpoint(port));
} else {
  consumeRing(ring!, (_op: number) => undefined);
  port.close();
}
