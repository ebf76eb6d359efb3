// Writes docs/ops.md from the ops' definitions (run after `npm run build`): `npm run docs:ops`.
import { writeFileSync } from 'node:fs';
import '../../dist/src/index.js';
import { opReference } from '../../dist/src/ops/op-reference.js';

writeFileSync(new URL('../../docs/ops.md', import.meta.url), opReference());
console.log('docs/ops.md written');
