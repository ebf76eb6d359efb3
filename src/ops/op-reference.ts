import { definedOps } from './define-op.js';
import { definedComposites } from './composite.js';

const short = (name: string) => name.replace(/^aten::/, '');

/**
 * The op reference (docs/ops.md), written from the ops' definitions: one row per op with
 * its method, its forms, where it runs, what it differentiates and its autocast category.
 * test/op-definition.test.ts keeps the file equal to this.
 */
export function opReference(): string {
  const rows = definedOps().map((d) => {
    const forms = [...d.functional, ...d.inplace, ...(d.out === undefined ? [] : [d.out])].map((n) => `\`${short(n)}\``).join(', ');
    const methods = [...[d.method, d.inplaceMethod].filter((m) => m !== undefined).map((m) => `\`${m}\``), ...(d.function === undefined ? [] : [`\`${d.function}()\` (function)`])].join(', ') || '—';
    const where = (keys: readonly string[] | undefined) => (keys === undefined ? 'native everywhere' : `${keys.join(', ')}; other devices: their fallback`);
    const exceptions = Object.entries(d.overloadBackends ?? {}).map(([overload, keys]) => `; \`${d.name}.${overload}\`: ${where(keys)}`);
    const backends = where(d.backends) + exceptions.join('');
    const only = d.derivativeOverloads === undefined ? '' : ` (${d.derivativeOverloads.map((o) => `\`${d.name}.${o}\``).join(', ')})`;
    const grads = d.differentiable.length === 0 ? '—' : d.differentiable.map((a) => `\`${a}\``).join(', ') + only;
    return `| \`${d.name}\` | ${methods} | ${forms} | ${backends} | ${grads} | ${d.autocast ?? '—'} | ${d.doc} |`;
  });
  return [
    '# Operator reference',
    '',
    '<!-- Written by test/reference/write-op-reference.mjs from the ops\' definitions (defineOp); do not edit. -->',
    '',
    'Each op below is one `defineOp` definition in `src/ops/builtin/`: the functional overloads, the',
    'in-place and `out=` forms generated from them, the kernel every backend runs, the derivative of',
    'each argument and the autocast category. Ops not listed here are still defined the older way',
    '(see the op table in the README).',
    '',
    '| op | methods | forms | kernels | gradient for | autocast | what it computes |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    '## Composite ops',
    '',
    'Defined with `defineComposite` (`src/ops/builtin/composites.ts`) by the ops they call, as PyTorch\'s',
    'CompositeImplicitAutograd ops are: every backend runs them, and autograd differentiates them',
    'through those ops.',
    '',
    '| op | method or function | what it computes |',
    '|---|---|---|',
    ...definedComposites().map((c) => `| \`${c.name}\` | ${c.method !== undefined ? `\`${c.method}\`` : `\`${c.function}()\` (function)`} | ${c.doc} |`),
    '',
  ].join('\n');
}
