#!/usr/bin/env python3
"""PyTorch's half of test/node/torch-safetensors.test.ts, through python/adamw_wasm_torch.py.

    driver.py DIR    1. JS's state after 10 steps (DIR/js10.safetensors, with params) ->
                        torch.optim built by optimizer_from_file + load_params, steps 11..20
                        -> DIR/torch-continued.safetensors
                     2. DIR/init.safetensors + DIR/config.json -> torch.optim, steps 1..10
                        -> DIR/torch10.safetensors, steps 11..20 -> DIR/torch20.safetensors

Gradients come from DIR/grads.safetensors (`grads.<t>.<name>` for t = 1..20, written by the
test), so both sides step with the same bits. Prints {"cpuCapability": ...} as JSON: the test
checks that ATEN_CPU_CAPABILITY took effect.
"""
from __future__ import annotations

import json, os, re, sys

sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'python'))

import torch
from torch import nn

import adamw_wasm_torch as awt

STEPS, HALF = 20, 10


class Model(nn.Module):
    """fc1.weight [8, 6], fc1.bias [8], fc2.weight [3, 8], fc2.bias [3]: the test's four tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 8), nn.Linear(8, 3)


def step(model: nn.Module, optimizer: torch.optim.Optimizer, grads: dict[str, torch.Tensor], t: int) -> None:
    for name, p in model.named_parameters():
        p.grad = grads[f'grads.{t}.{name}'].clone()
    optimizer.step()


def continue_js(folder: str) -> None:
    grads, _ = awt.read_safetensors(os.path.join(folder, 'grads.safetensors'))
    model = Model()
    source = os.path.join(folder, 'js10.safetensors')
    awt.load_params(model, source)
    # foreach=False: the single-tensor kernels, whose arithmetic the fixtures document.
    optimizer, info = awt.optimizer_from_file(model, source, foreach=False)
    for t in range(HALF + 1, STEPS + 1):
        step(model, optimizer, grads, t)
    awt.save_optimizer_state(optimizer, model, os.path.join(folder, 'torch-continued.safetensors'), include_params=True,
                             step_count=info['step_count'] + STEPS - HALF)


def train(folder: str) -> None:
    grads, _ = awt.read_safetensors(os.path.join(folder, 'grads.safetensors'))
    init, _ = awt.read_safetensors(os.path.join(folder, 'init.safetensors'))
    with open(os.path.join(folder, 'config.json')) as f:
        config = json.load(f)
    model = Model()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(init[f'params.{name}'].reshape(p.shape))
    named = list(model.named_parameters())
    no_decay = config.get('noDecay')
    groups = [{'params': [p for name, p in named if not (no_decay and re.search(no_decay, name))]}]
    if no_decay:  # the usual PyTorch recipe: a second group with weight_decay 0
        groups.append({'params': [p for name, p in named if re.search(no_decay, name)], 'weight_decay': 0.0})
    optimizer = awt.TORCH_CLASSES[config['optimizer']](groups, **config['hyper'], foreach=False)
    for t in range(1, STEPS + 1):
        step(model, optimizer, grads, t)
        if t in (HALF, STEPS):
            awt.save_optimizer_state(optimizer, model, os.path.join(folder, f'torch{t}.safetensors'), include_params=True, step_count=t)


def main() -> None:
    folder = sys.argv[1]
    continue_js(folder)
    train(folder)
    found = re.search(r'CPU capability usage: (.*)', torch.__config__.show())
    print(json.dumps({'cpuCapability': found.group(1).strip() if found else None, 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
