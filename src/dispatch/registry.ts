import { Dispatcher } from './dispatcher.js';

/** The process's operator registry (PyTorch has one per process too); backends and libraries register into it. */
export const dispatcher = new Dispatcher();
