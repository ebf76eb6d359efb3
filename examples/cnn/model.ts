/** The demo's CNN and its synthetic dataset (the training bench measures the same model). */
import { type Tensor, nn, randn, tensor } from 'openreg';

export const CLASSES = 4;
export const SIZE = 12;
export const BATCH = 32;
/** Images whose class is which quadrant holds a bright square, plus noise. */
export function dataset(batches: number): { x: Tensor; y: Tensor }[] {
  const out: { x: Tensor; y: Tensor }[] = [];
  for (let b = 0; b < batches; b++) {
    const labels = Array.from({ length: BATCH }, (_, i) => (i * 7 + b) % CLASSES);
    const pixels = new Float32Array(BATCH * SIZE * SIZE);
    labels.forEach((c, i) => {
      const [top, left] = [c < 2 ? 1 : SIZE / 2 + 1, c % 2 === 0 ? 1 : SIZE / 2 + 1];
      for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) pixels[i * SIZE * SIZE + (top + r) * SIZE + left + q] = 1;
    });
    const noise = randn([BATCH, 1, SIZE, SIZE]).mul(0.8);
    out.push({ x: tensor(pixels).reshape(BATCH, 1, SIZE, SIZE).add(noise), y: tensor(labels, { dtype: 'int64' }) });
  }
  return out;
}

/** conv → relu → pool → linear. */
export class Cnn extends nn.Module {
  conv = new nn.Conv2d(1, 8, 3, { padding: 1 });
  pool = new nn.MaxPool2d(2);
  flatten = new nn.Flatten();
  fc = new nn.Linear(8 * (SIZE / 2) * (SIZE / 2), CLASSES);
  forward(x: Tensor): Tensor {
    return this.fc.call(this.flatten.call(this.pool.call(this.conv.call(x).relu())));
  }
}
