// Separate from the entry: imports are hoisted, and the environments must be set before the specs load.
import { setTestEnvs } from '@tensorflow/tfjs-core/dist/jasmine_util';

setTestEnvs([{ name: 'openreg', backendName: 'openreg', isDataSync: true }]);
