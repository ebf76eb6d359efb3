import type { DType } from './dtype.js';

/**
 * PyTorch's tensor repr, for console.log and util.inspect: `tensor([[3., 4.], [5., 6.]],
 * device='openreg:0')`. Floats share one format per tensor (integral values print as `3.`,
 * others with 4 decimals, scientific past 1e8 or below 1e-4), past 1000 elements each
 * dimension shows its first and last 3 entries, and the dtype is shown where PyTorch shows
 * it (not for float32, int64 or bool).
 */

const THRESHOLD = 1000;
const EDGE = 3;
const LINE_WIDTH = 80;

/** The values as the repr needs them: flat, row-major. */
export interface ReprSource {
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly values: ArrayLike<number | bigint | boolean> | undefined;
  readonly device: string;
  readonly requiresGrad: boolean;
  readonly gradFn: string | undefined;
}

const PYTORCH_DTYPE: Readonly<Record<DType, string>> = {
  float32: 'torch.float32', float64: 'torch.float64', float16: 'torch.float16', bfloat16: 'torch.bfloat16',
  int32: 'torch.int32', int64: 'torch.int64', uint8: 'torch.uint8', bool: 'torch.bool',
};

function isFloat(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

/** One formatter for every element of a tensor, as PyTorch's _Formatter picks it. */
function formatter(dtype: DType, values: readonly (number | bigint | boolean)[]): (v: number | bigint | boolean) => string {
  if (dtype === 'bool') {
    const width = values.some((v) => !v) ? 5 : 4;
    return (v) => (v ? 'True' : 'False').padStart(width);
  }
  if (!isFloat(dtype)) {
    const width = Math.max(1, ...values.map((v) => String(v).length));
    return (v) => String(v).padStart(width);
  }
  const finite = values.map(Number).filter(Number.isFinite);
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const abs = finite.map(Math.abs).filter((v) => v !== 0);
  const max = abs.length === 0 ? 0 : Math.max(...abs);
  const min = abs.length === 0 ? 0 : Math.min(...abs);
  let format: (v: number) => string;
  const scientific = (v: number) => v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
  const wide = max / min > 1000 || max > 1e8;
  if (finite.every(Number.isInteger)) format = wide ? scientific : (v) => `${Object.is(v, -0) ? '-0' : v.toFixed(0)}.`;
  else if (wide || min < 1e-4) format = scientific;
  else format = fixed4;
  // The width comes from the nonzero finite values (as PyTorch's _Formatter); zeros, nan and inf pad to it.
  const width = Math.max(1, ...finite.filter((v) => v !== 0).map((v) => format(v).length));
  return (v) => (Number.isFinite(Number(v)) ? format(Number(v)) : special(Number(v))).padStart(width);
}

/** Characters of one formatted element (every element of a tensor has the same). */
function widthOf(fmt: (v: number | bigint | boolean) => string, sample: number | bigint | boolean): number {
  return fmt(sample).length;
}

/** Four decimals as Python's format gives them: an exact tie rounds to even (0.03125 → 0.0312), where toFixed rounds up. */
function fixed4(v: number): string {
  const scaled = Math.abs(v) * 1e4;
  const floor = Math.floor(scaled);
  if (scaled - floor === 0.5 && floor % 2 === 0) return `${v < 0 ? '-' : ''}${(floor / 1e4).toFixed(4)}`;
  return v.toFixed(4);
}

/** The indices of a dimension of size n the repr shows (-1 stands for the `...`). */
function shown(n: number, summarize: boolean): number[] {
  if (!summarize || n <= 2 * EDGE) return Array.from({ length: n }, (_, i) => i);
  return [...Array.from({ length: EDGE }, (_, i) => i), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)];
}

export function tensorRepr(t: ReprSource): string {
  const prefix = 'tensor(';
  // PyTorch's order: device, size (meta, and empty tensors of more than one dimension), dtype, then autograd.
  const suffix: string[] = [];
  if (t.device !== 'cpu') suffix.push(`device='${t.device}'`);
  const numel = t.shape.reduce((p, n) => p * n, 1);
  const meta = t.device === 'meta';
  if (meta || (numel === 0 && t.shape.length > 1)) suffix.push(`size=(${t.shape.join(', ')}${t.shape.length === 1 ? ',' : ''})`);
  // Where no values show the dtype, every dtype but float32 is named; otherwise the ones values do not tell.
  if (meta || numel === 0 ? t.dtype !== 'float32' : !(t.dtype === 'float32' || t.dtype === 'int64' || t.dtype === 'bool')) suffix.push(`dtype=${PYTORCH_DTYPE[t.dtype]}`);
  if (t.gradFn !== undefined) suffix.push(`grad_fn=<${t.gradFn}>`);
  else if (t.requiresGrad) suffix.push('requires_grad=True');
  let body: string;
  if (meta) body = '...';
  else if (numel === 0) body = '[]';
  else if (t.values === undefined) body = `<values pending: ${t.shape.length === 0 ? 'a scalar' : `shape [${t.shape.join(', ')}]`}; await it or read it>`;
  else if (numel === 0) body = `[]${t.shape.length > 1 ? `, size=(${t.shape.join(', ')})` : ''}`;
  else {
    const summarize = numel > THRESHOLD;
    const strides: number[] = [];
    let step = 1;
    for (let d = t.shape.length - 1; d >= 0; d--) {
      strides[d] = step;
      step *= t.shape[d]!;
    }
    const visible: (number | bigint | boolean)[] = [];
    const collect = (d: number, at: number): void => {
      if (d === t.shape.length) return void visible.push(t.values![at]!);
      for (const i of shown(t.shape[d]!, summarize)) if (i >= 0) collect(d + 1, at + i * strides[d]!);
    };
    collect(0, 0);
    const fmt = formatter(t.dtype, visible);
    const indent = prefix.length;
    const render = (d: number, at: number): string => {
      if (d === t.shape.length) return fmt(t.values![at]!);
      const items = shown(t.shape[d]!, summarize).map((i) => (i < 0 ? '...' : render(d + 1, at + i * strides[d]!)));
      if (d === t.shape.length - 1) {
        // PyTorch's _vector_str: as many elements per line as fit in the line width.
        const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent - d) / (widthOf(fmt, t.values![at]!) + 2)));
        const cells = items.map((item) => (item === '...' ? ' ...' : item));
        const lines: string[] = [];
        for (let i = 0; i < cells.length; i += perLine) lines.push(cells.slice(i, i + perLine).join(', '));
        return `[${lines.join(`,\n${' '.repeat(indent + d + 1)}`)}]`;
      }
      const separator = `,${'\n'.repeat(t.shape.length - d - 1)}${' '.repeat(indent + d + 1)}`;
      return `[${items.join(separator)}]`;
    };
    body = render(0, 0);
  }
  return `${prefix}${[body, ...suffix].join(', ')})`;
}
