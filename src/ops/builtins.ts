// Loads every builtin op's registration (each module registers on import), then the openreg backend's.
import './builtin/views.js';
import './builtin/elementwise.js';
import './builtin/reductions.js';
import './builtin/linalg.js';
import './builtin/copies.js';
import './openreg-backend.js';
import './autograd/engine.js';
import './autograd/formulas.js';
