// The package entry first: it registers the openreg device type and loads every op.
import './index.js';
import { registerOpenRegBackends } from './tfjs/register-backends.js';

// Importing openreg/tfjs registers the backends (TensorFlow.js's plug-in point, PyTorch's PrivateUse1).
registerOpenRegBackends();

export { OpenRegBackend } from './tfjs/openreg-backend.js';
export type { OpenRegData } from './tfjs/openreg-backend.js';
export { kernelCoverage, registerOpenRegBackends } from './tfjs/register-backends.js';
export type { KernelCoverage } from './tfjs/register-backends.js';
