// OpenReg's usage example, as torch_openreg's README shows it: no set-up, no close().
import { device, openreg, tensor } from 'openreg';

if (!openreg.isAvailable()) {
  console.log('OpenReg backend is not available');
  process.exit();
}
const dev = device('openreg');
const x = tensor([[1, 2], [3, 4]], { device: dev });
const y = x.add(2);
console.log(y); // values, dtype and device, like PyTorch's repr
console.log(`Device of y: ${y.device}`);
const z = await y.cpu();
console.log(z, z.device.toString());
