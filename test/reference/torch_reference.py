#!/usr/bin/env python3
"""Writes test/fixtures/torch-reference.json: what PyTorch answers for a table of op calls.

Each case names an op, its arguments (tensors with dtype, shape and values; scalars) and
PyTorch's answer: the result's dtype, shape and values, or the error it raises. The
vitest suite (test/matches-pytorch.test.ts) replays every case on the cpu backend and on an
openreg device, so the tests need no Python.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 test/reference/torch_reference.py
"""
import itertools
import json
import math
import os
import random

import torch

DTYPES = {
    'bool': torch.bool,
    'uint8': torch.uint8,
    'int32': torch.int32,
    'int64': torch.int64,
    'float16': torch.float16,
    'bfloat16': torch.bfloat16,
    'float32': torch.float32,
    'float64': torch.float64,
}
NAMES = {v: k for k, v in DTYPES.items()}
FLOATS = ['float16', 'bfloat16', 'float32', 'float64']
rng = random.Random(15)


def values_for(dtype, n, positive=False):
    """Values exactly representable in every dtype of their kind, so inputs mean the same everywhere."""
    if dtype == 'bool':
        pool = [True, False]
    elif dtype == 'uint8':
        pool = [0, 1, 2, 3, 5, 7]
    elif dtype in ('int32', 'int64'):
        pool = [1, 2, 3, 4] if positive else [-3, -2, -1, 0, 1, 2, 3, 4]
    else:
        pool = [0.25, 0.5, 1.0, 1.5, 2.0, 3.0] if positive else [-2.5, -1.0, -0.5, 0.0, 0.25, 1.0, 1.5, 3.0]
    return [rng.choice(pool) for _ in range(n)]


def encode_number(v):
    if isinstance(v, bool):
        return v
    if isinstance(v, float):
        if math.isnan(v):
            return 'nan'
        if math.isinf(v):
            return 'inf' if v > 0 else '-inf'
        if v.is_integer() and abs(v) < 2**53:
            # JSON keeps 1.0 as 1.0, but JS reads both as 1: no loss either way.
            return v
    return v


def tensor_arg(dtype, shape, positive=False):
    n = math.prod(shape)
    return {'dtype': dtype, 'shape': list(shape), 'values': values_for(dtype, n, positive)}


def to_torch(arg):
    if isinstance(arg, list):
        return [to_torch(a) for a in arg]
    if isinstance(arg, dict) and 'dtype' in arg:
        flat = torch.tensor(arg['values'], dtype=DTYPES[arg['dtype']]) if arg['values'] else torch.empty(0, dtype=DTYPES[arg['dtype']])
        return flat.reshape(arg['shape'])
    return arg


def describe(value):
    if isinstance(value, torch.Tensor):
        flat = value.detach().reshape(-1)
        if value.dtype in (torch.float16, torch.bfloat16):
            flat = flat.to(torch.float64)
        return {'dtype': NAMES[value.dtype], 'shape': list(value.shape), 'values': [encode_number(v) for v in flat.tolist()]}
    if isinstance(value, (tuple, list)):
        return [describe(v) for v in value]
    raise TypeError(f'unexpected result {value!r}')


# How each op of the table is called in PyTorch (the test calls openreg's method of the same name).
CALLS = {
    'add': lambda a, b, alpha=None: a.add(b) if alpha is None else a.add(b, alpha=alpha),
    'sub': lambda a, b, alpha=None: a.sub(b) if alpha is None else a.sub(b, alpha=alpha),
    'mul': lambda a, b: a.mul(b),
    'div': lambda a, b: a.div(b),
    'pow': lambda a, b: a.pow(b),
    'maximum': lambda a, b: a.maximum(b),
    'hypot': lambda a, b: a.hypot(b),
    'minimum': lambda a, b: a.minimum(b),
    'eq': lambda a, b: a.eq(b),
    'ne': lambda a, b: a.ne(b),
    'lt': lambda a, b: a.lt(b),
    'le': lambda a, b: a.le(b),
    'gt': lambda a, b: a.gt(b),
    'ge': lambda a, b: a.ge(b),
    'add_': lambda a, b, alpha=None: a.add_(b) if alpha is None else a.add_(b, alpha=alpha),
    'mul_': lambda a, b: a.mul_(b),
    'div_': lambda a, b: a.div_(b),
    'neg': lambda a: a.neg(),
    'abs': lambda a: a.abs(),
    'exp': lambda a: a.exp(),
    'log': lambda a: a.log(),
    'sqrt': lambda a: a.sqrt(),
    'tanh': lambda a: a.tanh(),
    'sigmoid': lambda a: a.sigmoid(),
    'relu': lambda a: a.relu(),
    'log1p': lambda a: a.log1p(),
    'expm1': lambda a: a.expm1(),
    'erf': lambda a: a.erf(),
    'floor': lambda a: a.floor(),
    'ceil': lambda a: a.ceil(),
    'round': lambda a: a.round(),
    'trunc': lambda a: a.trunc(),
    'sign': lambda a: a.sign(),
    'reciprocal': lambda a: a.reciprocal(),
    'rsqrt': lambda a: a.rsqrt(),
    'silu': lambda a: torch.nn.functional.silu(a),
    'gelu': lambda a, approximate='none': torch.nn.functional.gelu(a, approximate=approximate),
    'isnan': lambda a: a.isnan(),
    'isfinite': lambda a: a.isfinite(),
    'logicalNot': lambda a: a.logical_not(),
    'logicalAnd': lambda a, b: a.logical_and(b),
    'logicalOr': lambda a, b: a.logical_or(b),
    'logicalXor': lambda a, b: a.logical_xor(b),
    'remainder': lambda a, b: a.remainder(b),
    'fmod': lambda a, b: a.fmod(b),
    'clamp': lambda a, lo=None, hi=None: a.clamp(lo, hi),
    'where': lambda c, a, b: torch.where(c, a, b),
    'min': lambda a, dim=None, keepdim=False: a.min() if dim is None else tuple(a.min(dim, keepdim=keepdim)),
    'amin': lambda a, dim=(), keepdim=False: a.amin(dim, keepdim=keepdim),
    'argmax': lambda a, dim=None, keepdim=False: a.argmax(dim, keepdim=keepdim),
    'argmin': lambda a, dim=None, keepdim=False: a.argmin(dim, keepdim=keepdim),
    'gather': lambda a, dim, index: a.gather(dim, index),
    'scatter': lambda a, dim, index, src: a.scatter(dim, index, src),
    'scatterAdd': lambda a, dim, index, src: a.scatter_add(dim, index, src),
    'indexSelect': lambda a, dim, index: a.index_select(dim, index),
    'stack': lambda tensors, dim=0: torch.stack(tensors, dim),
    'split': lambda a, size, dim=0: tuple(a.split(size, dim)),
    'chunk': lambda a, n, dim=0: tuple(a.chunk(n, dim)),
    'flip': lambda a, dims: a.flip(dims),
    'roll': lambda a, shifts, dims=None: a.roll(shifts, dims),
    'repeat': lambda a, *reps: a.repeat(*reps),
    'tile': lambda a, *reps: a.tile(reps),
    'tril': lambda a, k=0: a.tril(k),
    'triu': lambda a, k=0: a.triu(k),
    'var': lambda a, dim=None, options=None: a.var(dim, correction=(options or {}).get('correction', 1), keepdim=(options or {}).get('keepdim', False)),
    'std': lambda a, dim=None, options=None: a.std(dim, correction=(options or {}).get('correction', 1), keepdim=(options or {}).get('keepdim', False)),
    'norm': lambda a, p=2, dim=None, keepdim=False: torch.linalg.vector_norm(a, float(p) if p != 'fro' else 2, dim, keepdim),
    'all': lambda a, dim=None, keepdim=False: a.all() if dim is None else a.all(dim, keepdim),
    'any': lambda a, dim=None, keepdim=False: a.any() if dim is None else a.any(dim, keepdim),
    'bmm': lambda a, b: a.bmm(b),
    'nonzero': lambda a: a.nonzero(),
    'maskedSelect': lambda a, mask: a.masked_select(mask),
    'index': lambda a, items: a[tuple(python_index(i) for i in items)],
    'sort': lambda a, dim=-1, descending=False: tuple(a.sort(dim=dim, descending=descending, stable=True)),
    'argsort': lambda a, dim=-1, descending=False: a.sort(dim=dim, descending=descending, stable=True)[1],
    'topk': lambda a, k, dim=-1, largest=True: tuple(a.topk(k, dim, largest)),
    'cumsum': lambda a, dim: a.cumsum(dim),
    'sortValues': lambda a, dim=-1, descending=False: a.sort(dim=dim, descending=descending, stable=True)[0],
    'topkValues': lambda a, k, dim=-1, largest=True: a.topk(k, dim, largest)[0],
    'prod': lambda a, dim=None, keepdim=False: a.prod() if dim is None else a.prod(dim, keepdim),
    'eye': lambda n, m=None: torch.eye(n) if m is None else torch.eye(n, m),
    'linspace': lambda start, end, steps: torch.linspace(start, end, steps),
    'maskedFill': lambda a, mask, value: a.masked_fill(mask, value),
    'sum': lambda a, dim=None, keepdim=False: a.sum() if dim is None else a.sum(dim, keepdim=keepdim),
    'mean': lambda a, dim=None, keepdim=False: a.mean() if dim is None else a.mean(dim, keepdim=keepdim),
    'amax': lambda a, dim=(), keepdim=False: a.amax(dim, keepdim=keepdim),
    'max': lambda a, dim=None, keepdim=False: a.max() if dim is None else tuple(a.max(dim, keepdim=keepdim)),
    'softmax': lambda a, dim, dtype=None: a.softmax(dim) if dtype is None else a.softmax(dim, dtype=DTYPES[dtype]),
    'logSoftmax': lambda a, dim, dtype=None: a.log_softmax(dim) if dtype is None else a.log_softmax(dim, dtype=DTYPES[dtype]),
    'matmul': lambda a, b: a.matmul(b),
    'cat': lambda tensors, dim=0: torch.cat(tensors, dim),
    'mm': lambda a, b: a.mm(b),
    'dot': lambda a, b: a.dot(b),
    'tensor': lambda data, dtype=None: torch.tensor(data) if dtype is None else torch.tensor(data, dtype=DTYPES[dtype]),
    'full': lambda shape, value, dtype=None: torch.full(shape, value) if dtype is None else torch.full(shape, value, dtype=DTYPES[dtype]),
    'backward': lambda name, *args, **kwargs: gradients(name, args, kwargs),
    'arange': lambda start, end, step, dtype=None: torch.arange(start, end, step) if dtype is None else torch.arange(start, end, step, dtype=DTYPES[dtype]),
}

cases = []


def python_index(item):
    """An item of openreg's t.index([...]) as Python writes it in t[...]."""
    if item == '...':
        return Ellipsis
    if isinstance(item, str):
        parts = [int(p) if p.strip() else None for p in item.split(':')]
        return slice(*parts)
    return item


def upstream_weights(n):
    """The gradient fed to backward: 1, 1.5, 2, 1, … (exact in every float dtype), so no element is weighted zero."""
    return [1 + (i % 3) * 0.5 for i in range(n)]


def gradients(name, args, kwargs):
    """The gradients of every floating tensor argument of CALLS[name] for the upstream weights."""
    def leaf(a):
        if isinstance(a, list):
            return [leaf(x) for x in a]
        return a.detach().clone().requires_grad_(True) if isinstance(a, torch.Tensor) and a.is_floating_point() else a
    leaves = [leaf(a) for a in args]
    y = CALLS[name](*leaves, **kwargs)
    w = torch.tensor(upstream_weights(y.numel()), dtype=y.dtype).reshape(y.shape)
    (y * w).sum().backward()
    flat = [x for a in leaves for x in (a if isinstance(a, list) else [a])]
    return tuple(a.grad for a in flat if isinstance(a, torch.Tensor) and a.requires_grad)


def case(op, args, kwargs=None, name=None):
    kwargs = kwargs or {}
    try:
        result = CALLS[op](*[to_torch(a) for a in args], **kwargs)
        expected = describe(result)
    except (RuntimeError, TypeError, ValueError, IndexError, OverflowError) as e:
        message = str(e).splitlines()[0]
        expected = {'error': message}
        if "not implemented for 'Half'" in message:
            # PyTorch 1.13's CPU lacks some half kernels (its GPUs have them): compute in float32, round to half.
            widened = [to_torch(a).float() if isinstance(to_torch(a), torch.Tensor) and to_torch(a).dtype == torch.float16 else to_torch(a) for a in args]
            result = CALLS[op](*widened, **kwargs)
            result = tuple(r.half() if r.is_floating_point() else r for r in result) if isinstance(result, tuple) else result.half()
            expected = describe(result)
            expected['computedIn'] = 'float32'
    label = name or f"{op}({', '.join(label_of(a) for a in args)}{''.join(f', {k}={v!r}' for k, v in kwargs.items())})"
    cases.append({'name': label, 'op': op, 'args': [encode_arg(a) for a in args], 'kwargs': {k: encode_arg(v) for k, v in kwargs.items()}, 'expected': expected})


def label_of(a):
    if isinstance(a, str):
        return a
    if isinstance(a, dict) and 'dtype' in a:
        return f"{a['dtype']}{a['shape']}"
    if isinstance(a, list) and a and isinstance(a[0], dict):
        return '[' + ', '.join(label_of(x) for x in a) + ']'
    return repr(a)


def encode_arg(a):
    if isinstance(a, dict) and 'dtype' in a:
        return {'tensor': {'dtype': a['dtype'], 'shape': a['shape'], 'values': [encode_number(v) for v in a['values']]}}
    if isinstance(a, float):
        return encode_number(a)
    if isinstance(a, (list, tuple)):
        return [encode_arg(v) for v in a]
    return a


# Binary ops, tensor with tensor: every dtype pair, broadcast [2, 3] with [3].
for op in ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'hypot', 'eq', 'lt', 'ge']:
    for da, db in itertools.product(DTYPES, DTYPES):
        positive = op == 'pow'
        case(op, [tensor_arg(da, [2, 3], positive), tensor_arg(db, [3], positive)])
for op in ['ne', 'le', 'gt']:
    for d in DTYPES:
        case(op, [tensor_arg(d, [2, 2]), tensor_arg(d, [2, 1])])

# Binary ops with a scalar: Python scalars take part in promotion by category only.
for op in ['add', 'sub', 'mul', 'div', 'pow', 'eq', 'lt']:
    for d in DTYPES:
        for s in [2, -1, 0.5, True]:
            case(op, [tensor_arg(d, [4], op == 'pow'), s])

# alpha: integral for integral results, bool only for bool results, cast for bool results.
for op in ['add', 'sub']:
    for d in ['bool', 'uint8', 'int32', 'int64', 'float32', 'bfloat16']:
        for alpha in [2, -1, 0.5, True]:
            case(op, [tensor_arg(d, [3]), tensor_arg(d, [3])], {'alpha': alpha})

# In-place: the result type must be castable to self's dtype.
for op in ['add_', 'mul_', 'div_']:
    for da, db in [('int32', 'float32'), ('float32', 'int32'), ('int64', 'int32'), ('bool', 'bool'), ('uint8', 'int64'), ('float16', 'float32')]:
        case(op, [tensor_arg(da, [3]), tensor_arg(db, [3])])

# Unary ops over every dtype; values include 0 and negatives (log, sqrt give inf and nan).
for op in ['neg', 'abs', 'exp', 'log', 'sqrt', 'tanh', 'sigmoid', 'relu']:
    for d in DTYPES:
        case(op, [tensor_arg(d, [2, 3])])

# The first-afternoon unary ops over every dtype, and over the special values.
SPECIAL = {'dtype': 'float32', 'shape': [8], 'values': [float('nan'), float('inf'), float('-inf'), -0.0, 0.5, -2.5, 2.5, 1e-8]}
for op in ['log1p', 'expm1', 'erf', 'floor', 'ceil', 'round', 'trunc', 'sign', 'reciprocal', 'rsqrt', 'silu', 'gelu', 'isnan', 'isfinite', 'logicalNot']:
    for d in DTYPES:
        case(op, [tensor_arg(d, [2, 3])])
    case(op, [SPECIAL])
    case(op, [tensor_arg('float32', [0, 2])])
case('gelu', [tensor_arg('float32', [2, 3])], {'approximate': 'tanh'})
case('gelu', [tensor_arg('float64', [4])], {'approximate': 'tanh'})
case('gelu', [tensor_arg('float32', [2])], {'approximate': 'exact'})
# Ties round to even; large values are already integers.
case('round', [{'dtype': 'float64', 'shape': [9], 'values': [-3.5, -2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 2.0 ** 52 + 1]}])

# Logical ops over dtype pairs, with NaN (true) and zero; remainder and fmod with both signs and zero.
for op in ['logicalAnd', 'logicalOr', 'logicalXor']:
    for da, db in [('bool', 'bool'), ('float32', 'int64'), ('uint8', 'bool'), ('float16', 'float64')]:
        case(op, [tensor_arg(da, [2, 3]), tensor_arg(db, [3])])
    case(op, [SPECIAL, {'dtype': 'int32', 'shape': [8], 'values': [0, 1, 0, 1, 0, 1, 0, 1]}])
SIGNED = {'dtype': 'float32', 'shape': [6], 'values': [5.0, -5.0, 5.0, -5.0, 7.5, -0.0]}
DIVISORS = {'dtype': 'float32', 'shape': [6], 'values': [3.0, 3.0, -3.0, -3.0, 2.0, 2.0]}
for op in ['remainder', 'fmod']:
    for da, db in [('float32', 'float32'), ('int32', 'int32'), ('int64', 'float32'), ('uint8', 'uint8'), ('bool', 'bool'), ('float16', 'float16')]:
        case(op, [tensor_arg(da, [2, 3], True), tensor_arg(db, [3], True)])
    case(op, [SIGNED, DIVISORS])
    case(op, [{'dtype': 'int64', 'shape': [4], 'values': [5, -5, 5, -5]}, {'dtype': 'int64', 'shape': [4], 'values': [3, 3, -3, -3]}])
    case(op, [SIGNED, 0.0])
    case(op, [SIGNED, -2])
    case(op, [{'dtype': 'int64', 'shape': [2], 'values': [5, -5]}, 0])
    case(op, [{'dtype': 'int32', 'shape': [2], 'values': [5, -5]}, {'dtype': 'int32', 'shape': [2], 'values': [0, 2]}])
    case(op, [{'dtype': 'int32', 'shape': [2], 'values': [5, -5]}, 1.5])

# clamp: promotion with its bounds, bounds cast into the dtype, min > max, NaN, tensor bounds.
for d in ['uint8', 'int32', 'int64', 'float16', 'bfloat16', 'float32', 'float64', 'bool']:
    case('clamp', [tensor_arg(d, [2, 3]), 0, 2])
    case('clamp', [tensor_arg(d, [2, 3]), 0.5])
    case('clamp', [tensor_arg(d, [2, 3]), None, 1])
case('clamp', [tensor_arg('uint8', [3], True), -1, 2])
case('clamp', [SPECIAL, -1.0, 1.0])
case('clamp', [tensor_arg('float32', [2, 3]), 2.5, 1.5])
case('clamp', [tensor_arg('float32', [2, 3])])
case('clamp', [tensor_arg('float32', [2, 3]), tensor_arg('float32', [3]), tensor_arg('float32', [2, 1])])
case('clamp', [tensor_arg('int32', [2, 3]), tensor_arg('float32', [3])])
case('clamp', [tensor_arg('float32', [0, 3]), 0, 1])

# where: promotion between the values (scalars by category), broadcasting all three, what it refuses.
COND = {'dtype': 'bool', 'shape': [2, 3], 'values': [True, False, True, False, False, True]}
for da, db in [('float32', 'float32'), ('int32', 'float32'), ('int64', 'int32'), ('bool', 'uint8'), ('float16', 'bfloat16')]:
    case('where', [COND, tensor_arg(da, [2, 3]), tensor_arg(db, [3])])
for a, b in [(1.0, 0.0), (1, 0), (True, False), (1, 0.5)]:
    case('where', [COND, a, b])
case('where', [COND, tensor_arg('int32', [3]), 0.5])
case('where', [COND, tensor_arg('int32', [3]), 5])
case('where', [COND, True, tensor_arg('float16', [2, 3])])
case('where', [{'dtype': 'bool', 'shape': [2, 1], 'values': [True, False]}, tensor_arg('float32', [3]), tensor_arg('float32', [2, 3])])
case('where', [{'dtype': 'uint8', 'shape': [3], 'values': [1, 0, 2]}, tensor_arg('float32', [3]), tensor_arg('float32', [3])])
case('where', [{'dtype': 'float32', 'shape': [3], 'values': [1.0, 0.0, 2.0]}, tensor_arg('float32', [3]), tensor_arg('float32', [3])])
case('where', [COND, tensor_arg('float32', [2]), tensor_arg('float32', [3])])
case('where', [{'dtype': 'bool', 'shape': [0, 3], 'values': []}, tensor_arg('float32', [3]), 1.0])

# min, amin, argmax and argmin over dims, NaN and ties; empty tensors and dims refused as PyTorch does.
TIES = {'dtype': 'float32', 'shape': [2, 4], 'values': [3.0, 1.0, 4.0, 1.0, 5.0, float('nan'), 2.0, 6.0]}
for t in [TIES, tensor_arg('int64', [2, 3]), tensor_arg('bool', [3, 2]), tensor_arg('float16', [4]), tensor_arg('float32', []), tensor_arg('float32', [0, 3])]:
    case('min', [t])
    case('amin', [t])
    case('argmax', [t])
    case('argmin', [t])
    case('argmax', [t], {'keepdim': True})
    for dim in range(len(t['shape'])):
        case('min', [t], {'dim': dim})
        case('amin', [t], {'dim': dim, 'keepdim': True})
        case('argmax', [t], {'dim': dim})
        case('argmin', [t], {'dim': dim, 'keepdim': True})
case('argmax', [tensor_arg('float32', [2, 3])], {'dim': 2})

# gather, scatter, scatter_add and index_select: every dim, repeated indices, smaller index shapes, scalar src, what is refused.
def index_arg(shape, bound, dtype='int64'):
    return {'dtype': dtype, 'shape': shape, 'values': [rng.randrange(bound) for _ in range(math.prod(shape))]}
SRC = tensor_arg('float32', [3, 4])
for dim in [0, 1, -1]:
    size = 3 if dim == 0 else 4
    case('gather', [SRC, dim, index_arg([2, 3], size)])
    case('scatter', [SRC, dim, index_arg([2, 2], size), tensor_arg('float32', [2, 3])])
    case('scatter', [SRC, dim, index_arg([2, 2], size), 7.5])
    case('scatterAdd', [SRC, dim, {'dtype': 'int64', 'shape': [3, 2], 'values': [0, 0, 1, 1, 2, 0]}, tensor_arg('float32', [3, 2])])
    case('indexSelect', [SRC, dim, index_arg([5], size)])
    case('indexSelect', [SRC, dim, index_arg([2], size, 'int32')])
for d in ['int64', 'bool', 'float16', 'float64']:
    case('gather', [tensor_arg(d, [2, 3]), 1, index_arg([2, 2], 3)])
    case('scatterAdd', [tensor_arg(d, [2, 3]), 0, index_arg([2, 3], 2), tensor_arg(d, [2, 3])])
    case('indexSelect', [tensor_arg(d, [2, 3]), 1, index_arg([4], 3)])
case('gather', [SRC, 1, index_arg([2, 3], 4, 'int32')])
case('gather', [SRC, 1, index_arg([4, 3], 4)])
case('gather', [SRC, 1, index_arg([3], 4)])
case('gather', [SRC, 1, index_arg([0, 2], 4)])
case('gather', [tensor_arg('float32', []), 0, {'dtype': 'int64', 'shape': [], 'values': [0]}])
case('scatter', [SRC, 0, index_arg([2, 2], 3), tensor_arg('float64', [2, 2])])
case('indexSelect', [SRC, 0, index_arg([2, 2], 3)])
case('indexSelect', [SRC, 1, index_arg([0], 4)])
case('indexSelect', [tensor_arg('float32', [0, 3]), 1, index_arg([2], 3)])

# stack: promotion, every dim, what it refuses; masked_fill: scalar and 0-dim tensor values, broadcast masks.
for shapes, dim in [([[2, 3], [2, 3]], 0), ([[2, 3], [2, 3], [2, 3]], 2), ([[2, 3], [2, 3]], -1), ([[0, 3], [0, 3]], 1), ([[]], 0), ([[2, 3], [3, 2]], 0), ([[2]], 2)]:
    case('stack', [[tensor_arg('float32', s) for s in shapes]], {'dim': dim})
case('stack', [[tensor_arg('int32', [2]), tensor_arg('float16', [2])]], {'dim': 0})
MASK = {'dtype': 'bool', 'shape': [3], 'values': [True, False, True]}
for d in ['float32', 'int64', 'bool', 'float16']:
    case('maskedFill', [tensor_arg(d, [2, 3]), MASK, 1])
case('maskedFill', [tensor_arg('float32', [2, 3]), MASK, 0.5])
case('maskedFill', [tensor_arg('int32', [2, 3]), MASK, 0.5])
case('maskedFill', [tensor_arg('float32', [2, 3]), MASK, {'dtype': 'float32', 'shape': [], 'values': [-2.5]}])
case('maskedFill', [tensor_arg('float32', [2, 3]), MASK, {'dtype': 'float32', 'shape': [1], 'values': [-2.5]}])
case('maskedFill', [tensor_arg('float32', [2, 3]), {'dtype': 'uint8', 'shape': [3], 'values': [1, 0, 1]}, 1])

# The composite ops: shaping, statistics and factories.
T = tensor_arg('float32', [3, 4])
for size, dim in [(2, 1), (3, 0), (1, 0), ([1, 3], 1), ([2, 2], 1)]:
    case('split', [T, size, dim])
for n, dim in [(2, 1), (3, 0), (5, 1)]:
    case('chunk', [T, n, dim])
for dims in [[0], [1], [0, 1], [-1]]:
    case('flip', [T, dims])
for shifts, dims in [(1, 0), (-1, 1), ([1, 2], [0, 1]), (5, None), (2, None)]:
    case('roll', [T, shifts] + ([dims] if dims is not None else []))
for reps in [[2, 1], [1, 3], [2, 2, 1], [0, 2]]:
    case('repeat', [T] + reps)
case('repeat', [T, 2])
case('tile', [T, 2])
case('tile', [tensor_arg('int64', [2]), 2, 3])
for k in [0, 1, -1, 5]:
    case('tril', [T, k])
    case('triu', [T, k])
case('tril', [tensor_arg('float32', [2, 2, 3])])
case('triu', [tensor_arg('float32', [3])])
for fn in ['var', 'std']:
    case(fn, [T])
    case(fn, [T, 1])
    case(fn, [T, 0, {'correction': 0, 'keepdim': True}])
    case(fn, [T, [0, 1]])
    case(fn, [tensor_arg('float64', [1, 4]), 0])
    case(fn, [tensor_arg('int64', [3])])
for p in [2, 1, float('inf'), float('-inf'), 0, 3, 'fro']:
    case('norm', [T, p])
    case('norm', [T, p, 1])
case('norm', [T, 2, [0, 1], True])
for t in [tensor_arg('bool', [2, 3]), tensor_arg('int64', [2, 3]), tensor_arg('float32', [2, 3]), tensor_arg('float32', [0, 3])]:
    case('all', [t])
    case('any', [t])
    case('all', [t, 1])
    case('any', [t, 0, True])
case('bmm', [tensor_arg('float32', [2, 3, 4]), tensor_arg('float32', [2, 4, 2])])
case('bmm', [tensor_arg('float32', [2, 3, 4]), tensor_arg('float32', [3, 4, 2])])
case('bmm', [tensor_arg('float32', [3, 4]), tensor_arg('float32', [4, 2])])
for args in [[3], [2, 4], [0]]:
    case('eye', args)
for start, end, steps in [(0, 1, 5), (-2.5, 3.5, 7), (1, 1, 1), (0, 10, 0), (3, -3, 4)]:
    case('linspace', [start, end, steps])

# Sorting (stable: ties keep their order; NaN above every number), top-k, running sums and products.
NANS = {'dtype': 'float32', 'shape': [2, 5], 'values': [3.0, float('nan'), 1.0, 3.0, -2.0, 0.5, 0.5, float('-inf'), float('inf'), 0.0]}
for t in [NANS, tensor_arg('int64', [3, 4]), tensor_arg('float64', [4]), tensor_arg('float32', [0, 3]), tensor_arg('bool', [5])]:
    for dim in range(len(t['shape'])):
        for descending in [False, True]:
            case('sort', [t, dim, descending])
            case('argsort', [t, dim, descending])
        case('cumsum', [t, dim])
        case('prod', [t, dim])
        case('prod', [t, dim, True])
    case('prod', [t])
# topk's order among equal values is unspecified in PyTorch (openreg keeps the lowest index first): values without ties.
DISTINCT = {'dtype': 'float32', 'shape': [2, 5], 'values': [3.0, float('nan'), 1.0, 2.5, -2.0, 0.5, 0.25, float('-inf'), float('inf'), 0.0]}
for k, dim, largest in [(2, 1, True), (3, 1, False), (0, 1, True), (5, 1, True), (1, 0, False), (6, 1, True)]:
    case('topk', [DISTINCT, k, dim, largest])
case('topk', [tensor_arg('int32', [3, 4]), 2, 1, True])
case('cumsum', [tensor_arg('uint8', [2, 3]), 1])
case('cumsum', [tensor_arg('float16', [2, 3]), 0])

# Indexing: t[...] as t.index([...]).
X3 = {'dtype': 'float32', 'shape': [2, 3, 4], 'values': [float(v) for v in range(24)]}
IDX = lambda values, shape=None: {'dtype': 'int64', 'shape': shape or [len(values)], 'values': values}
for items in [[1], [-1, '1:', '::2'], [None, '...', 0], ['...', None], [0, IDX([2, 0])], [IDX([1, 0]), ':', IDX([3, -1])],
              [':', IDX([0, 1, 2, 2], [2, 2]), IDX([1])], [IDX([1, 1, 0])], [':', ':', IDX([-4, 3])], ['1:2', None, IDX([0])], [0, 0, 0], [2], [0, 0, 0, 0]]:
    case('index', [X3, items])
# Bool masks: each covers as many dimensions as it has (PyTorch turns it into nonzero's coordinates).
MASK = lambda values, shape=None: {'dtype': 'bool', 'shape': [len(values)] if shape is None else shape, 'values': values}
for items in [[MASK([True, False, True, True, False, False], [2, 3])], [':', MASK([False, True, True])], [MASK([True, False]), ':', IDX([0, 3])],
              [MASK([True] * 24, [2, 3, 4])], [MASK([False] * 6, [2, 3])], [MASK([True], [])], [MASK([False], [])], [0, MASK([True, False, False, True])],
              [MASK([True, True, False])], ['...', MASK([True, False, True, False, True, False, True, False, True, True, True, True], [3, 4])]]:
    case('index', [X3, items])

# nonzero and masked_select: sizes read from the device (openreg's are Promises).
for t in [tensor_arg('float32', [3, 4]), tensor_arg('bool', [2, 3]), tensor_arg('int64', [5]), tensor_arg('float32', [0, 2]), {'dtype': 'float32', 'shape': [], 'values': [2.0]}]:
    case('nonzero', [t])
case('maskedSelect', [tensor_arg('float32', [2, 3]), {'dtype': 'bool', 'shape': [3], 'values': [True, False, True]}])
case('maskedSelect', [tensor_arg('int32', [2, 3]), {'dtype': 'bool', 'shape': [2, 3], 'values': [False] * 6}])
case('maskedSelect', [tensor_arg('float32', [3]), {'dtype': 'bool', 'shape': [2, 1], 'values': [True, False]}])

# Gradients, for the upstream weights 1, 1.5, 2, …: each differentiable new op in float32 and float64.
GRAD_INPUT = {'dtype': 'float32', 'shape': [2, 4], 'values': [-2.5, -1.0, -0.5, 0.25, 0.5, 1.0, 1.5, 3.0]}
for d in ['float32', 'float64']:
    x = dict(GRAD_INPUT, dtype=d)
    for op in ['log1p', 'expm1', 'erf', 'floor', 'ceil', 'round', 'trunc', 'sign', 'reciprocal', 'rsqrt', 'silu', 'gelu']:
        case('backward', [op, dict(x, values=[abs(v) for v in x['values']]) if op in ('log1p', 'rsqrt') else x])
    case('backward', ['gelu', x], {'approximate': 'tanh'})
    case('backward', ['remainder', x, {'dtype': d, 'shape': [4], 'values': [1.5, -2.0, 0.75, -1.25]}])
    case('backward', ['fmod', x, {'dtype': d, 'shape': [4], 'values': [1.5, -2.0, 0.75, -1.25]}])
    case('backward', ['clamp', x, -1.0, 1.0])
    case('backward', ['clamp', x, 1.0, -1.0])
    case('backward', ['clamp', x, None, 0.5])
    case('backward', ['clamp', x, {'dtype': d, 'shape': [4], 'values': [-1.0, -1.0, 0.0, 2.0]}, {'dtype': d, 'shape': [2, 1], 'values': [1.0, 0.0]}])
    case('backward', ['gather', x, 1, index_arg([2, 3], 4)])
    case('backward', ['scatter', x, 1, index_arg([2, 2], 4), dict(x, shape=[2, 2], values=x['values'][:4])])
    case('backward', ['scatterAdd', x, 1, {'dtype': 'int64', 'shape': [2, 3], 'values': [0, 0, 3, 1, 1, 1]}, dict(x, shape=[2, 3], values=x['values'][:6])])
    case('backward', ['indexSelect', x, 1, {'dtype': 'int64', 'shape': [5], 'values': [3, 0, 3, 2, 3]}])
    case('backward', ['indexSelect', x, 0, {'dtype': 'int64', 'shape': [3], 'values': [1, 1, 0]}])
    case('backward', ['stack', [x, dict(x, values=x['values'][::-1])]], {'dim': 1})
    case('backward', ['maskedFill', x, {'dtype': 'bool', 'shape': [4], 'values': [True, False, False, True]}, {'dtype': d, 'shape': [], 'values': [2.0]}])
    for fn in ['var', 'std']:
        case('backward', [fn, x, 1])
    case('backward', ['norm', x, 2, 1])
    case('backward', ['norm', x, 3])
    case('backward', ['flip', x, [0, 1]])
    case('backward', ['roll', x, [1, -1], [0, 1]])
    case('backward', ['repeat', x, 2, 1])
    case('backward', ['tril', x, 1])
    case('backward', ['bmm', dict(x, shape=[2, 2, 2]), dict(x, shape=[2, 2, 2])])
    case('backward', ['prod', x])
    case('backward', ['prod', x, 1])
    case('backward', ['prod', dict(x, values=[2.0, 0.0, 3.0, 1.5, 0.0, 0.0, 2.0, -1.0]), 1])
    case('backward', ['prod', dict(x, values=[2.0, 0.0, 3.0, 1.5, 0.5, 1.0, 2.0, -1.0])])
    case('backward', ['prod', dict(x, values=[2.0, 0.0, 3.0, 1.5, 0.5, 1.0, 2.0, -1.0]), 0, True])
    case('backward', ['maskedSelect', x, {'dtype': 'bool', 'shape': [4], 'values': [True, False, False, True]}])
    case('backward', ['sortValues', x, 1, True])
    case('backward', ['sortValues', x, 0])
    case('backward', ['topkValues', x, 2, 1])
    case('backward', ['topkValues', x, 1, 0, False])
    case('backward', ['cumsum', x, 1])
    case('backward', ['cumsum', x, 0])
    case('backward', ['index', x, [IDX([1, 0, 1]), IDX([3, 3, 0])]])
    case('backward', ['index', x, [':', '1:3']])
    case('backward', ['index', x, [MASK([True, False, False, True, True, False, True, True], [2, 4])]])
    case('backward', ['where', {'dtype': 'bool', 'shape': [2, 4], 'values': [True, False] * 4}, x, {'dtype': d, 'shape': [4], 'values': [1.0, 2.0, 3.0, 4.0]}])

# Reductions, including empty tensors and empty reduced dimensions.
for d in ['bool', 'uint8', 'int32', 'int64', 'float16', 'float32', 'float64']:
    for shape in [[2, 3], [4], [0], [3, 0], [0, 3], []]:
        t = tensor_arg(d, shape)
        case('sum', [t])
        case('mean', [t])
        case('amax', [t])
        case('max', [t])
        for dim in range(len(shape)):
            case('sum', [t], {'dim': dim})
            case('sum', [t], {'dim': dim, 'keepdim': True})
            case('mean', [t], {'dim': dim})
            case('amax', [t], {'dim': dim, 'keepdim': True})
            case('max', [t], {'dim': dim})
        if len(shape) == 2:
            case('sum', [t], {'dim': [0, 1]})
            case('sum', [t], {'dim': -1})
            case('mean', [t], {'dim': [-2, -1], 'keepdim': True})

# Products.
for da, db in [('float32', 'float32'), ('float64', 'float64'), ('int32', 'int32'), ('int64', 'int64'), ('float32', 'float64'), ('float16', 'float16'), ('bool', 'bool')]:
    case('mm', [tensor_arg(da, [2, 3]), tensor_arg(db, [3, 4])])
    case('dot', [tensor_arg(da, [3]), tensor_arg(db, [3])])
for sa, sb in [([2, 3], [3, 4]), ([3], [3]), ([3], [3, 2]), ([2, 3], [3]), ([2, 2, 3], [3, 2]), ([2, 1, 2, 3], [3, 3, 2]), ([2, 0], [0, 3]), ([0, 3], [3, 2]), ([0], [0]), ([2, 3], [4, 2]), ([3], [4])]:
    case('matmul', [tensor_arg('float32', sa), tensor_arg('float32', sb)])
case('mm', [tensor_arg('float32', [2, 3, 1]), tensor_arg('float32', [3, 4])])
case('dot', [tensor_arg('float32', [2, 2]), tensor_arg('float32', [2, 2])])

# Softmax over each dimension, empty ones included; integral inputs are refused.
for d in ['float16', 'float32', 'float64', 'int64']:
    for shape in [[2, 3], [4], [0, 3], [3, 0]]:
        for dim in list(range(len(shape))) + [-1]:
            case('softmax', [tensor_arg(d, shape)], {'dim': dim})
            case('logSoftmax', [tensor_arg(d, shape)], {'dim': dim})
# softmax's dtype: the input is taken in it (so integer inputs work), the result has it.
for d in ['int64', 'float16', 'float32']:
    for target in ['float32', 'float64']:
        case('softmax', [tensor_arg(d, [2, 3])], {'dim': 1, 'dtype': target})
        case('logSoftmax', [tensor_arg(d, [2, 3])], {'dim': 0, 'dtype': target})

# cat: promotion, any dim, the legacy skip of 1-D empty tensors, and what it refuses.
for shapes, dim in [([[2, 3], [1, 3]], 0), ([[2, 3], [2, 1]], 1), ([[2, 3], [2, 3], [2, 3]], -1), ([[0], [2, 2]], 0), ([[0], [0]], 0), ([[2, 0], [2, 3]], 1), ([[2, 3], [2, 4]], 0), ([[2, 3], [3]], 0), ([[2, 3]], 2), ([[]], 0)]:
    case('cat', [[tensor_arg('float32', s) for s in shapes]], {'dim': dim})
for da, db in [('int32', 'float32'), ('bool', 'uint8'), ('int64', 'float16'), ('bool', 'bool')]:
    case('cat', [[tensor_arg(da, [2]), tensor_arg(db, [3])]], {'dim': 0})

# Factories: dtype inference and values that do not fit.
for data in [[1, 2], [1.5, 2], [True, False], [[1, 2], [3, 4]], [1e40], [-1e40], [2**62], [[]], []]:
    case('tensor', [data])
for data, dtype in [([300], 'uint8'), ([-1], 'uint8'), ([255], 'uint8'), ([2**31], 'int32'), ([-2**31], 'int32'), ([float('nan')], 'int32'), ([float('inf')], 'int64'), ([1.5], 'int32'), ([1e39], 'float32'), ([70000], 'float16'), ([2], 'bool'), ([0.5], 'bool'), ([1, 0], 'bool'), ([2**53], 'float64')]:
    case('tensor', [data], {'dtype': dtype})
for shape, value, dtype in [([2], 300, 'uint8'), ([2], 1.5, 'int32'), ([2], 1.5, None), ([2], 3, None), ([2], True, None), ([0, 2], 1, 'float32'), ([2], 2**31, 'int32'), ([2], float('nan'), 'float16'), ([2], 1e39, 'float32')]:
    case('full', [shape, value], {'dtype': dtype} if dtype else {})
for start, end, step, dtype in [(0, 5, 1, None), (0, 1, 0.25, None), (5, 0, -2, None), (0, 0, 1, None), (0, 300, 1, 'uint8'), (0, 5, 1, 'bool'), (0, 5, 0, None), (0, 5, -1, None), (0.5, 3, 1, 'int32')]:
    case('arange', [start, end, step], {'dtype': dtype} if dtype else {})

# Printing: PyTorch's repr of tensors the test rebuilds from their values.
reprs = []
for arg in [tensor_arg('int64', [2, 2]), tensor_arg('float32', [2, 2]), tensor_arg('int32', [3]), tensor_arg('bool', [2]), tensor_arg('float16', [3]),
            tensor_arg('float64', [2, 3, 2]), tensor_arg('float32', [2, 0]), tensor_arg('int32', [0]), tensor_arg('float32', []), tensor_arg('uint8', [4]),
            {'dtype': 'float32', 'shape': [3], 'values': [float('nan'), float('inf'), 1.0]}, {'dtype': 'float32', 'shape': [2], 'values': [0.001, 100.0]},
            {'dtype': 'float32', 'shape': [2, 1000], 'values': [float(i) for i in range(2000)]}, {'dtype': 'int64', 'shape': [1001], 'values': list(range(1001))},
            {'dtype': 'float32', 'shape': [2], 'values': [1e10, 1.0]}, {'dtype': 'bfloat16', 'shape': [2], 'values': [0.5, -2.0]},
            {'dtype': 'float32', 'shape': [2], 'values': [0.03125, 1.5]}, {'dtype': 'float32', 'shape': [2], 'values': [-0.0, 1.0]},
            {'dtype': 'int64', 'shape': [0, 3], 'values': []}, {'dtype': 'bool', 'shape': [0], 'values': []}]:
    reprs.append({'tensor': encode_arg(arg)['tensor'], 'repr': repr(to_torch(arg))})

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'torch-reference.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'generator': 'test/reference/torch_reference.py', 'cases': cases, 'reprs': reprs}, f, separators=(',', ':'), allow_nan=False)
    f.write('\n')
print(f'{len(cases)} cases -> {os.path.relpath(out)}')
