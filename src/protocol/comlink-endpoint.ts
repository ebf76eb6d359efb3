import type { Endpoint } from 'comlink';
import adapter from 'comlink/dist/umd/node-adapter.js';
import type { MessagePort, Worker } from 'node:worker_threads';

// comlink ships its Node adapter as UMD: at run time the default import is the function
// itself, while its typings describe a module namespace.
const nodeEndpoint = adapter as unknown as (port: MessagePort | Worker) => Endpoint;

/** A comlink endpoint over a worker or a worker's parent port. */
export function comlinkEndpoint(port: MessagePort | Worker): Endpoint {
  return nodeEndpoint(port);
}
