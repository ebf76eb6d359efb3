// tfjs-core's own backend conformance suite (its npm package ships it), against the openreg backend.
import './conformance-env.mjs';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/tests';
