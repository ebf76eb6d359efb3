#!/usr/bin/env python3
"""Writes test/fixtures/torch-nn-reference.json: what PyTorch's losses, optimizers, schedulers
and a small training loop give, so test/nn-matches-pytorch.test.ts can check openreg's nn and
optim without Python.

Run with Debian's python3-torch (1.13):  /usr/bin/python3 test/reference/torch_nn_reference.py
"""
import json
import math
import os

import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def desc(t):
    t = t.detach()
    return {'dtype': str(t.dtype).replace('torch.', ''), 'shape': list(t.shape), 'values': [v if math.isfinite(v) else str(v) for v in t.reshape(-1).tolist()]}


def values(shape, seed, scale=1.0):
    """Deterministic values without a generator: the same in both languages' fixture readers."""
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(seed + 1.7 * i) for i in range(n)], dtype=torch.float64).reshape(shape)


def upstream(n):
    return torch.tensor([1 + (i % 3) * 0.5 for i in range(n)], dtype=torch.float64)


# ------------------------------------------------------------------ losses
LOSSES = {
    'crossEntropy': lambda x, t, o: F.cross_entropy(x, t, weight=o.get('weight'), ignore_index=o.get('ignoreIndex', -100), reduction=o.get('reduction', 'mean'), label_smoothing=o.get('labelSmoothing', 0.0)),
    'nllLoss': lambda x, t, o: F.nll_loss(x, t, weight=o.get('weight'), ignore_index=o.get('ignoreIndex', -100), reduction=o.get('reduction', 'mean')),
    'mseLoss': lambda x, t, o: F.mse_loss(x, t, reduction=o.get('reduction', 'mean')),
    'l1Loss': lambda x, t, o: F.l1_loss(x, t, reduction=o.get('reduction', 'mean')),
    'binaryCrossEntropyWithLogits': lambda x, t, o: F.binary_cross_entropy_with_logits(x, t, weight=o.get('weight'), pos_weight=o.get('posWeight'), reduction=o.get('reduction', 'mean')),
}

losses = []


def loss_case(fn, x, t, options=None):
    options = options or {}
    x = x.clone().requires_grad_(True)
    y = LOSSES[fn](x, t, options)
    (y * upstream(y.numel()).reshape(y.shape)).sum().backward()
    losses.append({
        'name': f"{fn}({list(x.shape)}, {t.dtype}{list(t.shape)}{', ' + ', '.join(f'{k}={v.tolist() if isinstance(v, torch.Tensor) else v}' for k, v in options.items()) if options else ''})",
        'fn': fn, 'input': desc(x), 'target': desc(t),
        'options': {k: ({'tensor': desc(v)} if isinstance(v, torch.Tensor) else v) for k, v in options.items()},
        'expected': {'value': desc(y), 'grad': desc(x.grad)},
    })


logits = values([4, 5], 1, 2.0)
classes = torch.tensor([1, 0, 4, 2])
weight = torch.tensor([0.5, 1.0, 2.0, 1.5, 0.25])
for options in [{}, {'reduction': 'sum'}, {'reduction': 'none'}, {'weight': weight}, {'ignoreIndex': 2}, {'ignoreIndex': 2, 'weight': weight},
                {'labelSmoothing': 0.1}, {'labelSmoothing': 0.2, 'weight': weight}, {'labelSmoothing': 0.1, 'ignoreIndex': 0}, {'labelSmoothing': 0.3, 'reduction': 'none'},
                {'labelSmoothing': 0.1, 'reduction': 'sum', 'weight': weight}]:
    loss_case('crossEntropy', logits, classes, options)
probabilities = torch.softmax(values([4, 5], 2), 1)
for options in [{}, {'reduction': 'sum'}, {'reduction': 'none'}, {'labelSmoothing': 0.2}, {'weight': weight}]:
    loss_case('crossEntropy', logits, probabilities, options)
loss_case('crossEntropy', values([2, 3, 4], 3), torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]]))
loss_case('crossEntropy', values([2, 3, 4], 3), torch.tensor([[0, 2, 1, 1], [2, 2, 0, 1]]), {'labelSmoothing': 0.1, 'reduction': 'none'})
loss_case('crossEntropy', values([5], 4), torch.tensor(3))
loss_case('crossEntropy', logits, torch.tensor([2, 2, 2, 2]), {'ignoreIndex': 2})
logp = torch.log_softmax(logits, 1)
for options in [{}, {'reduction': 'sum'}, {'reduction': 'none'}, {'weight': weight}, {'ignoreIndex': 4}]:
    loss_case('nllLoss', logp, classes, options)
a, b = values([3, 4], 5), values([3, 4], 6)
for fn in ['mseLoss', 'l1Loss']:
    for reduction in ['mean', 'sum', 'none']:
        loss_case(fn, a, b, {'reduction': reduction})
bits = torch.tensor([[1.0, 0.0, 1.0, 0.5], [0.0, 0.0, 1.0, 1.0], [0.25, 1.0, 0.0, 1.0]])
extreme = torch.tensor([[50.0, -50.0, 0.0, 3.0], [-3.0, 20.0, -20.0, 0.5], [1.0, -1.0, 2.0, -2.0]])
for options in [{}, {'reduction': 'sum'}, {'reduction': 'none'}, {'weight': torch.tensor([1.0, 2.0, 0.5, 1.0])}, {'posWeight': torch.tensor([2.0, 0.5, 1.0, 3.0])}]:
    loss_case('binaryCrossEntropyWithLogits', extreme, bits, options)

# ------------------------------------------------------------------ layers' functions
layers = []


def layer_case(name, fn, args, differentiable, after=None):
    """fn(*args) and the gradients of the args at `differentiable` (indices) for the upstream weights; `after` lists args to record once run (running statistics)."""
    args = [a.clone().requires_grad_(True) if i in differentiable else (a.clone() if isinstance(a, torch.Tensor) else a) for i, a in enumerate(args)]
    recorded = [{'tensor': desc(a)} if isinstance(a, torch.Tensor) else a for a in args]
    y = fn(*args)
    (y * upstream(y.numel()).reshape(y.shape)).sum().backward()
    layers.append({'name': name, 'args': recorded, 'differentiable': differentiable, 'expected': {
        'value': desc(y), 'grads': [desc(args[i].grad) for i in differentiable], 'after': [desc(args[i]) for i in (after or [])]}})


layer_case('linear', lambda x, w, b: F.linear(x, w, b), [values([3, 4], 40), values([5, 4], 41), values([5], 42)], [0, 1, 2])
layer_case('layerNorm', lambda x, w, b: F.layer_norm(x, [4], w, b, 1e-5), [values([3, 4], 43, 2.0), values([4], 44), values([4], 45)], [0, 1, 2])
layer_case('layerNorm', lambda x: F.layer_norm(x, [3, 4], None, None, 1e-3), [values([2, 3, 4], 46)], [0])
layer_case('batchNorm', lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, True, 0.1, 1e-5), [values([5, 3], 47, 3.0), values([3], 48), values([3], 49).abs() + 0.5, values([3], 50), values([3], 51)], [0, 3, 4], [1, 2])
layer_case('batchNorm', lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, True, 0.3, 1e-5), [values([4, 3, 2, 2], 52, 2.0), values([3], 53), values([3], 54).abs() + 0.5, values([3], 55), values([3], 56)], [0, 3, 4], [1, 2])
layer_case('batchNorm', lambda x, rm, rv, w, b: F.batch_norm(x, rm, rv, w, b, False, 0.1, 1e-5), [values([5, 3, 2], 57), values([3], 58), values([3], 59).abs() + 0.5, values([3], 60), values([3], 61)], [0, 3, 4])
layer_case('embedding', lambda idx, w: F.embedding(idx, w, padding_idx=1), [torch.tensor([[0, 1, 4], [1, 1, 2]]), values([5, 4], 62)], [1])
layer_case('embedding', lambda idx, w: F.embedding(idx, w), [torch.tensor([3, 3, 0]), values([5, 2], 63)], [1])

CONV_IMAGE = values([2, 4, 5, 6], 64)
for options in [{}, {'stride': 2}, {'padding': 1}, {'padding': [2, 1], 'stride': [1, 2]}, {'dilation': 2, 'padding': 2}, {'groups': 2, 'padding': 1}]:
    groups = options.get('groups', 1)
    kw = {'stride': options.get('stride', 1), 'padding': options.get('padding', 0), 'dilation': options.get('dilation', 1), 'groups': groups}
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    layer_case('conv2d', lambda x, w, b, kw=kw: F.conv2d(x, w, b, **kw), [CONV_IMAGE, values([6, 4 // groups, 3, 3], 65, 0.5), values([6], 66)], [0, 1, 2])
    layers[-1]['options'] = options
for options in [{'kernelSize': 2}, {'kernelSize': 3, 'stride': 2, 'padding': 1}, {'kernelSize': [2, 3], 'stride': [1, 2], 'dilation': 2}]:
    kw = {'kernel_size': options['kernelSize'], 'stride': options.get('stride', None), 'padding': options.get('padding', 0), 'dilation': options.get('dilation', 1)}
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in kw.items()}
    layer_case('maxPool2d', lambda x, kw=kw: F.max_pool2d(x, **kw), [CONV_IMAGE], [0])
    layers[-1]['options'] = options
for options in [{'kernelSize': 2}, {'kernelSize': 3, 'stride': 2, 'padding': 1}]:
    kw = {'kernel_size': options['kernelSize'], 'stride': options.get('stride', None), 'padding': options.get('padding', 0)}
    layer_case('avgPool2d', lambda x, kw=kw: F.avg_pool2d(x, **kw), [CONV_IMAGE], [0])
    layers[-1]['options'] = options

# ------------------------------------------------------------------ optimizers
OPTIMIZERS = {
    'SGD': lambda params, o: torch.optim.SGD(params, lr=o['lr'], momentum=o.get('momentum', 0), dampening=o.get('dampening', 0), weight_decay=o.get('weightDecay', 0), nesterov=o.get('nesterov', False), maximize=o.get('maximize', False)),
    'Adam': lambda params, o: torch.optim.Adam(params, lr=o.get('lr', 1e-3), betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8), weight_decay=o.get('weightDecay', 0), amsgrad=o.get('amsgrad', False), maximize=o.get('maximize', False)),
    'AdamW': lambda params, o: torch.optim.AdamW(params, lr=o.get('lr', 1e-3), betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8), weight_decay=o.get('weightDecay', 1e-2), amsgrad=o.get('amsgrad', False), maximize=o.get('maximize', False)),
}
optimizers = []
STEPS = 4
for name, options in [('SGD', {'lr': 0.1}), ('SGD', {'lr': 0.1, 'momentum': 0.9}), ('SGD', {'lr': 0.1, 'momentum': 0.9, 'dampening': 0.5}), ('SGD', {'lr': 0.05, 'momentum': 0.8, 'nesterov': True}),
                      ('SGD', {'lr': 0.1, 'weightDecay': 0.01, 'momentum': 0.5}), ('SGD', {'lr': 0.1, 'maximize': True}), ('Adam', {}), ('Adam', {'lr': 0.01, 'betas': [0.8, 0.99], 'amsgrad': True}),
                      ('Adam', {'lr': 0.01, 'weightDecay': 0.1}), ('AdamW', {}), ('AdamW', {'lr': 0.01, 'weightDecay': 0.5, 'amsgrad': True}), ('Adam', {'lr': 0.02, 'maximize': True})]:
    p = values([2, 3], 7).clone().requires_grad_(True)
    opt = OPTIMIZERS[name]([p], options)
    grads, after = [], []
    for k in range(STEPS):
        g = values([2, 3], 11 + k, 0.5 + k)
        grads.append(desc(g))
        p.grad = g.clone()
        opt.step()
        after.append(desc(p))
    optimizers.append({'name': f'{name}({options})', 'optimizer': name, 'options': options, 'param': desc(values([2, 3], 7)), 'grads': grads, 'expected': after})

# ------------------------------------------------------------------ schedulers
schedulers = []
for name, options, epochs in [('StepLR', {'stepSize': 2, 'gamma': 0.5}, 7), ('StepLR', {'stepSize': 3}, 7), ('CosineAnnealingLR', {'tMax': 5, 'etaMin': 0.01}, 12), ('CosineAnnealingLR', {'tMax': 3}, 4)]:
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.5)
    s = torch.optim.lr_scheduler.StepLR(opt, step_size=options['stepSize'], gamma=options.get('gamma', 0.1)) if name == 'StepLR' else torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=options['tMax'], eta_min=options.get('etaMin', 0))
    lrs = [s.get_last_lr()[0]]
    for _ in range(epochs):
        opt.step()
        s.step()
        lrs.append(s.get_last_lr()[0])
    schedulers.append({'name': f'{name}({options})', 'scheduler': name, 'options': options, 'lr': 0.5, 'expected': lrs})

# ------------------------------------------------------------------ a training loop from fixed weights
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))
with torch.no_grad():
    for i, p in enumerate(model.parameters()):
        p.copy_(values(list(p.shape), 20 + i, 0.5))
initial = {k: desc(v) for k, v in model.state_dict().items()}
x = values([10, 6], 30)
y = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3, 1])
opt = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
step_losses = []
for _ in range(5):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y, label_smoothing=0.05)
    loss.backward()
    opt.step()
    step_losses.append(loss.item())
training = {'initial': initial, 'input': desc(x), 'target': desc(y), 'losses': step_losses, 'final': {k: desc(v) for k, v in model.state_dict().items()}}

# The demo's CNN shape (conv → relu → max pool → linear), smaller: three steps from fixed weights.
cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(3 * 3 * 3, 4))
with torch.no_grad():
    for i, p in enumerate(cnn.parameters()):
        p.copy_(values(list(p.shape), 40 + i, 0.5))
cnn_initial = {k: desc(v) for k, v in cnn.state_dict().items()}
images = values([5, 1, 6, 6], 50)
labels = torch.tensor([0, 1, 2, 3, 1])
opt = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
cnn_losses = []
for _ in range(3):
    opt.zero_grad()
    loss = F.cross_entropy(cnn(images), labels)
    loss.backward()
    opt.step()
    cnn_losses.append(loss.item())
cnn_training = {'initial': cnn_initial, 'input': desc(images), 'target': desc(labels), 'losses': cnn_losses, 'final': {k: desc(v) for k, v in cnn.state_dict().items()}}

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'torch-nn-reference.json')
with open(out, 'w') as f:
    json.dump({'torch': torch.__version__, 'generator': 'test/reference/torch_nn_reference.py', 'losses': losses, 'layers': layers, 'optimizers': optimizers, 'schedulers': schedulers, 'training': training, 'cnnTraining': cnn_training}, f, separators=(',', ':'))
    f.write('\n')
print(f'{len(losses)} losses, {len(layers)} layers, {len(optimizers)} optimizers, {len(schedulers)} schedulers -> {os.path.relpath(out)}')
