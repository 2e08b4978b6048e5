#!/usr/bin/env python3
"""Self-test of adamw_wasm_torch: /usr/bin/python3 python/test_adamw_wasm_torch.py (plain unittest, a few seconds)."""
from __future__ import annotations

import contextlib, io, json, os, struct, sys, tempfile, unittest

sys.dont_write_bytecode = True  # leave no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch
from torch import nn

import adamw_wasm_torch as awt

awt.DEFAULT_CODEC = awt.OWN_CODEC  # test the own codec even where safetensors is installed


def make_model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    model.add_module('unused', nn.Linear(2, 2))  # never gets a gradient: step 0, no torch state
    return model


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, seed: int) -> None:
    """Steps with gradients that depend only on (params, seed), so equal models get equal gradients."""
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        x, y = torch.randn(8, 4, generator=gen), torch.randn(8, 2, generator=gen)
        optimizer.zero_grad()
        ((model[2](model[1](model[0](x))) - y) ** 2).mean().backward()
        optimizer.step()


def rewrite(path: str, edit) -> None:
    """Edits a file's metadata (JSON values parsed) in place, as another writer might have written it."""
    tensors, meta = awt.read_safetensors(path)
    parsed = {k: json.loads(v) if k in ('param_groups', 'adamw_wasm') else v for k, v in meta.items()}
    edit(parsed)
    awt.write_safetensors(path, tensors, {k: v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()})


def header_file(header: dict | str, data: bytes = b'', length: int | None = None) -> bytes:
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    return struct.pack('<Q', len(text) if length is None else length) + text + data


class CodecTest(unittest.TestCase):
    def test_round_trip_every_dtype(self) -> None:
        torch.manual_seed(1)
        tensors = {
            'f64': torch.randn(2, 3, dtype=torch.float64), 'f32': torch.randn(5), 'f16': torch.randn(3, 1).half(),
            'bf16': torch.randn(4).bfloat16(), 'i64': torch.tensor([-(2**62), 7]), 'i32': torch.tensor([[1, -2]], dtype=torch.int32),
            'i16': torch.tensor([-3], dtype=torch.int16), 'i8': torch.tensor([-128, 127], dtype=torch.int8),
            'u8': torch.tensor([0, 255], dtype=torch.uint8), 'bool': torch.tensor([True, False, True]),
            'scalar': torch.tensor(3.5), 'empty': torch.empty(0, 3), 'empty_i8': torch.empty(0, dtype=torch.int8),
        }
        meta = {'a': 'b', 'ü': '{"json": [1]}'}
        data = awt.OWN_CODEC.encode(tensors, meta)
        back, back_meta = awt.read_safetensors(data)
        self.assertEqual(back_meta, meta)
        self.assertEqual(list(back), list(tensors))
        for k, t in tensors.items():
            self.assertEqual((back[k].dtype, back[k].shape), (t.dtype, t.shape), k)
            self.assertTrue(torch.equal(back[k], t), k)
        with tempfile.TemporaryDirectory() as d:
            awt.write_safetensors(os.path.join(d, 'x.safetensors'), tensors)
            self.assertEqual(set(awt.read_safetensors(os.path.join(d, 'x.safetensors'))[0]), set(tensors))

    def test_byte_layout(self) -> None:
        data = awt.OWN_CODEC.encode({'a': torch.tensor([1.0, 2.0]), 'b': torch.tensor(True)}, {'k': 'v'})
        (n,) = struct.unpack_from('<Q', data)
        self.assertEqual(n % 8, 0)
        header = data[8:8 + n]
        text = b'{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BOOL","shape":[],"data_offsets":[8,9]}}'
        self.assertEqual(header, text + b' ' * (n - len(text)))
        self.assertLess(n - len(text), 8)
        self.assertEqual(data[8 + n:], struct.pack('<ff', 1.0, 2.0) + b'\x01')

    def test_hostile_files_refused(self) -> None:
        f32 = lambda shape, offsets: {'dtype': 'F32', 'shape': shape, 'data_offsets': offsets}
        cases = {
            'truncated': b'\x01\x00',
            'exceeds the 100 MB': struct.pack('<Q', 100_000_001) + b'{}',
            'truncated safetensors file: the header': header_file('{}', length=50),
            'not UTF-8': struct.pack('<Q', 2) + b'\xff\xfe',
            'not valid JSON': header_file('{"a":'),
            'not a JSON object': header_file('[1]'),
            'duplicate key': header_file('{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}', bytes(4)),
            'NaN is not JSON': header_file('{"__metadata__":{"a":NaN}}'),
            'nests too deeply': header_file('{"__metadata__":' + '[' * 100_000 + ']' * 100_000 + '}'),
            'unknown dtype': header_file({'a': {'dtype': 'F8', 'shape': [1], 'data_offsets': [0, 1]}}, bytes(1)),
            'exactly dtype': header_file({'a': {**f32([1], [0, 4]), 'extra': 1}}, bytes(4)),
            'non-negative integers': header_file({'a': f32([-1], [0, 0])}),
            'non-negative integers, got [1.0]': header_file({'a': f32([1.0], [0, 4])}, bytes(4)),
            'bad data_offsets': header_file({'a': f32([1], [4, 0])}, bytes(4)),
            'size mismatch': header_file({'a': f32([2], [0, 4])}, bytes(4)),
            'out of range': header_file({'a': f32([1], [0, 4])}, bytes(2)),
            'overlap': header_file({'a': f32([1], [0, 4]), 'b': f32([1], [2, 6])}, bytes(6)),
            'leave a gap': header_file({'a': f32([1], [4, 8])}, bytes(8)),
            'gap at the end': header_file({'a': f32([1], [0, 4])}, bytes(6)),
            'strings to strings': header_file({'__metadata__': {'a': 1}}),
            'BOOL bytes': header_file({'a': {'dtype': 'BOOL', 'shape': [1], 'data_offsets': [0, 1]}}, b'\x02'),
        }
        for message, data in cases.items():
            with self.subTest(message), self.assertRaisesRegex(ValueError, message.replace('(', r'\(').replace('[', r'\[')):
                awt.read_safetensors(data)


class RoundTripTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, 'opt.safetensors')

    def tearDown(self) -> None:
        self.dir.cleanup()

    def assert_same_state(self, a: torch.optim.Optimizer, b: torch.optim.Optimizer) -> None:
        sa, sb = a.state_dict(), b.state_dict()
        self.assertEqual(sa['param_groups'], sb['param_groups'])
        self.assertEqual(sa['state'].keys(), sb['state'].keys())
        for index, entry in sa['state'].items():
            self.assertEqual(entry.keys(), sb['state'][index].keys())
            for key, value in entry.items():
                self.assertTrue(torch.equal(value, sb['state'][index][key]), (index, key))
                self.assertEqual(value.dtype, sb['state'][index][key].dtype)

    def assert_continues_identically(self, make_optimizer, via_file_builder: bool) -> dict:
        model = make_model()
        optimizer = make_optimizer(model)
        train(model, optimizer, 3, seed=1)
        awt.save_optimizer_state(optimizer, model, self.path, include_params=True)
        twin = make_model(seed=99)
        awt.load_params(twin, self.path)
        if via_file_builder:
            twin_optimizer, info = awt.optimizer_from_file(twin, self.path)
        else:
            twin_optimizer = make_optimizer(twin)
            info = awt.load_optimizer_state(twin_optimizer, twin, self.path)
        self.assert_same_state(optimizer, twin_optimizer)
        train(model, optimizer, 5, seed=2)
        train(twin, twin_optimizer, 5, seed=2)
        for (name, p), q in zip(model.named_parameters(), twin.parameters()):
            self.assertTrue(torch.equal(p, q), name)
        return info

    def test_adamw_amsgrad(self) -> None:
        make = lambda m: torch.optim.AdamW(m.parameters(), lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1, amsgrad=True)
        info = self.assert_continues_identically(make, via_file_builder=False)
        self.assertEqual(info, {'step_count': 3, 'clip_grad_norm': None, 'non_finite': 'throw', 'notes': []})
        tensors, meta = awt.read_safetensors(self.path)
        self.assertEqual(tensors['state.0.weight.step'].dtype, torch.int64)
        self.assertEqual(tensors['state.unused.weight.step'].item(), 0)
        self.assertEqual(json.loads(meta['adamw_wasm'])['groups'][0], {
            'lr': 0.01, 'betas': [0.8, 0.99], 'eps': 1e-6, 'weightDecay': 0.1, 'amsgrad': True, 'maximize': False, 'epsMode': 'torch',
            'weightDecayScale': 'lr', 'decayOrder': 'before', 'excludeFromWeightDecay': [], 'scheduled': False})
        names = ['0.weight', '0.bias', '1.weight', '1.bias', '2.weight', '2.bias', 'unused.weight', 'unused.bias']
        self.assertEqual(json.loads(meta['param_groups'])[0]['params'], names)
        self.assertEqual(json.loads(meta['adamw_wasm'])['sizes'], {'0.weight': 12, '0.bias': 3, '1.weight': 3, '1.bias': 3, '2.weight': 6, '2.bias': 2, 'unused.weight': 4, 'unused.bias': 2})

    def test_adam_two_groups(self) -> None:
        make = lambda m: torch.optim.Adam([{'params': m[0].parameters()}, {'params': [*m[1].parameters(), *m[2].parameters(), *m.unused.parameters()], 'lr': 0.003}],
                                          lr=0.01, weight_decay=0.05, maximize=True)
        self.assert_continues_identically(make, via_file_builder=True)

    def test_sgd_nesterov(self) -> None:
        make = lambda m: torch.optim.SGD(m.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)
        self.assert_continues_identically(make, via_file_builder=True)
        tensors, meta = awt.read_safetensors(self.path)
        self.assertEqual((meta['step_count'], tensors['state.0.weight.step'].item(), tensors['state.unused.bias.step'].item()), ('1', 1, 0))

    def test_sgd_without_momentum_has_no_arrays(self) -> None:
        make = lambda m: torch.optim.SGD(m.parameters(), lr=0.05)
        model = make_model()
        optimizer = make(model)
        train(model, optimizer, 2, seed=1)
        awt.save_optimizer_state(optimizer, model, self.path, step_count=2)
        tensors, meta = awt.read_safetensors(self.path)
        self.assertTrue(all(k.endswith('.step') for k in tensors))
        awt.optimizer_from_file(make_model(), self.path)

    def test_flat_arrays_of_a_tensor_given_no_shape_are_reshaped(self) -> None:
        model = make_model()
        optimizer = torch.optim.AdamW(model.parameters(), lr=0.01)
        train(model, optimizer, 2, seed=1)
        awt.save_optimizer_state(optimizer, model, self.path, include_params=True)
        tensors, meta = awt.read_safetensors(self.path)  # as adamw-wasm writes tensors it was given no shape for
        section = json.loads(meta['adamw_wasm'])
        section['shapes'] = {}
        awt.write_safetensors(self.path, {k: t.reshape(-1) if t.dim() else t for k, t in tensors.items()}, {**meta, 'adamw_wasm': json.dumps(section)})
        twin = make_model(seed=3)
        awt.load_params(twin, self.path)
        twin_optimizer, _ = awt.optimizer_from_file(twin, self.path)
        self.assert_same_state(optimizer, twin_optimizer)

    def test_exclusions_make_two_groups_with_the_same_trajectory(self) -> None:
        model = make_model()
        excluded = ['0.bias', '1.weight', '1.bias', '2.bias', 'unused.bias']
        named = dict(model.named_parameters())
        kept = [n for n in named if n not in excluded]
        reference = torch.optim.AdamW([{'params': [named[n] for n in kept]}, {'params': [named[n] for n in excluded], 'weight_decay': 0.0}], lr=0.01, weight_decay=0.2)
        train(model, reference, 3, seed=1)
        awt.save_optimizer_state(reference, model, self.path, include_params=True)

        def as_one_group_with_exclusions(meta: dict) -> None:  # what adamw-wasm writes for one group with exclusions
            groups = meta['param_groups']
            meta['param_groups'] = [{**groups[0], 'params': groups[0]['params'] + groups[1]['params']}]
            js = meta['adamw_wasm']['groups']
            patterns = ['0.bias', {'regexp': r'^1\.', 'flags': ''}, {'regexp': 'BIAS$', 'flags': 'i'}]
            js[:] = [{**js[0], 'excludeFromWeightDecay': patterns}]
        rewrite(self.path, as_one_group_with_exclusions)

        twin = make_model(seed=5)
        awt.load_params(twin, self.path)
        twin_optimizer, info = awt.optimizer_from_file(twin, self.path)
        self.assertEqual([g['weight_decay'] for g in twin_optimizer.param_groups], [0.2, 0.0])
        twin_named = {id(p): n for n, p in twin.named_parameters()}
        self.assertEqual(sorted(twin_named[id(p)] for p in twin_optimizer.param_groups[1]['params']), sorted(excluded))
        self.assertIn('excluded from weight decay', info['notes'][0])
        train(model, reference, 5, seed=2)
        train(twin, twin_optimizer, 5, seed=2)
        for (name, p), q in zip(model.named_parameters(), twin.parameters()):
            self.assertTrue(torch.equal(p, q), name)
        # Groups match in any order: the reference's own grouping (excluded group first) loads too.
        reordered = torch.optim.AdamW([{'params': [named[n] for n in reversed(excluded)]}, {'params': [named[n] for n in kept]}])
        awt.load_optimizer_state(reordered, model, self.path)
        self.assertEqual([g['weight_decay'] for g in reordered.param_groups], [0.0, 0.2])


class RefusalTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, 'opt.safetensors')
        self.model = make_model()
        self.optimizer = torch.optim.AdamW(self.model.parameters(), lr=0.01)
        train(self.model, self.optimizer, 2, seed=1)
        awt.save_optimizer_state(self.optimizer, self.model, self.path)

    def tearDown(self) -> None:
        self.dir.cleanup()

    def assert_refused(self, edit, setting: str) -> None:
        awt.save_optimizer_state(self.optimizer, self.model, self.path)  # a fresh file for each edit
        rewrite(self.path, edit)
        with self.assertRaisesRegex(ValueError, setting):
            awt.optimizer_from_file(make_model(), self.path)
        with self.assertRaisesRegex(ValueError, setting):
            awt.load_optimizer_state(torch.optim.AdamW(self.model.parameters()), self.model, self.path)

    def set_js(self, key: str, value) -> callable:
        return lambda meta: meta['adamw_wasm']['groups'][0].__setitem__(key, value)

    def test_file_settings_refused(self) -> None:
        cases = [
            (lambda m: m.__setitem__('optimizer', 'SGDW'), 'SGDW'),
            (self.set_js('epsMode', 'hat'), 'epsMode'),
            (self.set_js('decayOrder', 'after'), 'decayOrder'),
            (self.set_js('weightDecayScale', 'schedule'), 'weightDecayScale'),
            (lambda m: m.__setitem__('format', 'other'), 'format'),
            (lambda m: m.__setitem__('format_version', '2'), 'format_version'),
            (self.set_js('excludeFromWeightDecay', [{'regexp': 'bias', 'flags': 'u'}]), "flag 'u'"),
            (self.set_js('excludeFromWeightDecay', [{'regexp': '(?<n>x)', 'flags': ''}]), 'not a regular expression'),
            (self.set_js('newSetting', 1), 'newSetting'),
            (self.set_js('eps', 0.5), 'disagrees'),
        ]
        for edit, setting in cases:
            with self.subTest(setting):
                self.assert_refused(edit, setting)

    def test_class_and_group_mismatch_refused(self) -> None:
        with self.assertRaisesRegex(ValueError, 'AdamW state; this optimizer is torch.optim.Adam'):
            awt.load_optimizer_state(torch.optim.Adam(self.model.parameters()), self.model, self.path)
        split = torch.optim.AdamW([{'params': self.model[0].parameters()}, {'params': [*self.model[1].parameters(), *self.model[2].parameters(), *self.model.unused.parameters()]}])
        with self.assertRaisesRegex(ValueError, 'do not match'):
            awt.load_optimizer_state(split, self.model, self.path)

    def test_schedule_sets_lr_and_initial_lr(self) -> None:
        def scheduled(meta: dict) -> None:
            meta['adamw_wasm']['groups'][0]['scheduled'] = True
            meta['param_groups'][0]['lr'] = 0.005  # the next step's lr; the JS lr 0.01 is the base
        rewrite(self.path, scheduled)
        optimizer, info = awt.optimizer_from_file(make_model(), self.path)
        self.assertEqual((optimizer.param_groups[0]['lr'], optimizer.param_groups[0]['initial_lr']), (0.005, 0.01))
        self.assertIn('schedule itself is not carried over', info['notes'][0])

    def test_torch_settings_refused(self) -> None:
        self.optimizer.param_groups[0]['lr'] = torch.tensor(0.01)
        with self.assertRaisesRegex(ValueError, 'lr must be a plain number'):
            awt.save_optimizer_state(self.optimizer, self.model, self.path)
        self.optimizer.param_groups[0]['lr'] = 0.01
        self.optimizer.param_groups[0]['amsgrad'] = True  # switched on after stepping: no max_exp_avg_sq
        with self.assertRaisesRegex(ValueError, 'max_exp_avg_sq'):
            awt.save_optimizer_state(self.optimizer, self.model, self.path)
        adam = torch.optim.Adam(self.model.parameters())
        adam.param_groups[0]['decoupled_weight_decay'] = True  # newer torch: AdamW's maths under the name Adam
        with self.assertRaisesRegex(ValueError, 'decoupled_weight_decay'):
            awt.save_optimizer_state(adam, self.model, self.path)
        with self.assertRaisesRegex(ValueError, 'not a named parameter'):
            awt.save_optimizer_state(torch.optim.SGD([nn.Parameter(torch.zeros(2))], lr=0.1), self.model, self.path)
        double = make_model().double()
        with self.assertRaisesRegex(ValueError, 'float32 tensors'):
            awt.save_optimizer_state(torch.optim.SGD(double.parameters(), lr=0.1), double, self.path)
        with self.assertRaisesRegex(ValueError, 'step_count'):
            awt.save_optimizer_state(torch.optim.AdamW(self.model.parameters()), self.model, self.path, step_count=-1)

    def test_load_params_needs_params(self) -> None:
        with self.assertRaisesRegex(ValueError, 'no params'):
            awt.load_params(self.model, self.path)

    def test_describe(self) -> None:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(awt.main(['describe', self.path]), 0)
        self.assertIn('format: adamw-wasm/optimizer', out.getvalue())
        self.assertIn('state.0.weight.exp_avg\tF32\t[3, 4]', out.getvalue())


@unittest.skipUnless(isinstance(awt._default_codec(), awt.SafetensorsCodec), 'safetensors is not installed')
class LibraryCodecTest(unittest.TestCase):
    def test_codecs_read_each_other(self) -> None:
        lib = awt._default_codec()
        tensors, meta = {'a': torch.randn(3, 2), 'b': torch.tensor(4, dtype=torch.int64)}, {'k': 'v'}
        for writer, reader in ((awt.OWN_CODEC, lib), (lib, awt.OWN_CODEC)):
            back, back_meta = reader.decode(writer.encode(tensors, meta))
            self.assertEqual(back_meta, meta)
            self.assertTrue(all(torch.equal(back[k], t) for k, t in tensors.items()))


if __name__ == '__main__':
    unittest.main()
