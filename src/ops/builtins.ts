// Loads every builtin op's registration (each module registers on import). Device backends
// (openreg's own included) are loaded by src/backends/autoload.ts.
import './builtin/views.js';
import './builtin/elementwise.js';
import './builtin/unary-math.js';
import './builtin/logical.js';
import './builtin/selection.js';
import './builtin/indexing.js';
import './builtin/sorting.js';
import './builtin/reductions.js';
import './builtin/linalg.js';
import './builtin/cat.js';
import './builtin/copies.js';
import './reads.js';
import './autograd/engine.js';
import './autograd/formulas.js';
