#!/usr/bin/env python3
"""PyTorch side of adamw-wasm's safetensors checkpoint layout (see docs/safetensors.md).

Moves optimizer state (and optionally parameters) between adamw-wasm and torch.optim.AdamW,
Adam and SGD so that a run continues bit for bit on the other side. Needs torch and the
standard library; uses `safetensors.torch` when installed and its own codec otherwise.

    python3 adamw_wasm_torch.py describe FILE     # metadata and tensor list
"""
from __future__ import annotations

import argparse, json, math, os, pathlib, re, struct, sys
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import torch

FORMAT, FORMAT_VERSION = 'adamw-wasm/optimizer', '1'
MAX_HEADER = 100_000_000
# safetensors dtype name -> (torch dtype, bytes per element)
DTYPES = {'F64': (torch.float64, 8), 'F32': (torch.float32, 4), 'F16': (torch.float16, 2), 'BF16': (torch.bfloat16, 2),
          'I64': (torch.int64, 8), 'I32': (torch.int32, 4), 'I16': (torch.int16, 2), 'I8': (torch.int8, 1),
          'U8': (torch.uint8, 1), 'BOOL': (torch.bool, 1)}
DTYPE_NAMES = {dtype: name for name, (dtype, _) in DTYPES.items()}
TORCH_CLASSES = {'AdamW': torch.optim.AdamW, 'Adam': torch.optim.Adam, 'SGD': torch.optim.SGD}

# The one table of names: (adamw-wasm name, torch name) of the hyperparameters both sides hold.
_ADAM = (('lr', 'lr'), ('betas', 'betas'), ('eps', 'eps'), ('weightDecay', 'weight_decay'), ('amsgrad', 'amsgrad'), ('maximize', 'maximize'))
SHARED_HYPER = {'AdamW': _ADAM, 'Adam': _ADAM, 'SGD': (('lr', 'lr'), ('momentum', 'momentum'), ('dampening', 'dampening'),
                ('weightDecay', 'weight_decay'), ('nesterov', 'nesterov'), ('maximize', 'maximize'))}
# adamw-wasm-only settings: the value that is torch's maths. Any other value is refused, with the reason.
JS_ONLY = {'AdamW': {'epsMode': 'torch', 'weightDecayScale': 'lr', 'decayOrder': 'before'}, 'Adam': {'epsMode': 'torch'}, 'SGD': {}}
WHY_REFUSED = {
    'epsMode': "'hat' adds eps to sqrt(v) before bias correction (Keras/HF); torch adds it to sqrt(v)/sqrt(1-beta2^t)",
    'weightDecayScale': "'schedule' scales the decay by the schedule multiplier alone (paper, tfa); torch scales it by lr",
    'decayOrder': "'after' decays after the Adam step (HF transformers); torch decays before it",
}
# Settings the converter handles itself (exclusions become a second group; schedules become lr/initial_lr).
JS_HANDLED = ('excludeFromWeightDecay', 'scheduled', 'tensors')
DEFAULT_NON_FINITE = 'throw'  # plan.ts: adamw-wasm's default nonFinite policy
BOOL_KEYS = ('amsgrad', 'maximize', 'nesterov')
JS_FLAGS = {'i': re.IGNORECASE, 'm': re.MULTILINE, 's': re.DOTALL}
JS_IGNORED_FLAGS = 'gyd'  # adamw-wasm drops g and y (they make test() stateful); d only adds match indices

def _state_arrays(optimizer: str, hyper: dict) -> tuple[str, ...]:
    """The state arrays every tensor of a group with these (torch-named) hyperparameters holds."""
    if optimizer == 'SGD':
        return ('momentum_buffer',) if hyper['momentum'] != 0 else ()
    return ('exp_avg', 'exp_avg_sq') + (('max_exp_avg_sq',) if hyper['amsgrad'] else ())

# ---------------------------------------------------------------- the container

class Codec(Protocol):
    def decode(self, data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]: ...
    def encode(self, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> bytes: ...

def _strict_json(text: str, what: str) -> Any:
    """json.loads that refuses duplicate keys and NaN/Infinity, which JSON does not have."""
    def no_duplicates(pairs: list) -> dict:
        out = dict(pairs)
        if len(out) != len(pairs):  # linear: a hostile header may hold millions of keys
            seen: set = set()
            duplicate = next(k for k, _ in pairs if k in seen or seen.add(k))
            raise ValueError(f'{what}: duplicate key {duplicate!r}')
        return out

    def no_constant(name: str) -> None:
        raise ValueError(f'{what}: {name} is not JSON')
    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except json.JSONDecodeError as e:
        raise ValueError(f'{what} is not valid JSON ({e})') from None
    except RecursionError:
        raise ValueError(f'{what} nests too deeply to read') from None

def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)

@dataclass
class _Entry:
    name: str
    dtype: str
    shape: list[int]
    begin: int
    end: int

def _check_entry(name: str, e: Any) -> _Entry:
    where = f'safetensors tensor {name!r}'
    if not isinstance(e, dict) or set(e) != {'dtype', 'shape', 'data_offsets'}:
        raise ValueError(f'{where}: entry must hold exactly dtype, shape and data_offsets')
    if e['dtype'] not in DTYPES:
        raise ValueError(f'{where}: unknown dtype {e["dtype"]!r}')
    shape, offsets = e['shape'], e['data_offsets']
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise ValueError(f'{where}: shape must be a list of non-negative integers, got {shape!r}')
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets) or not 0 <= offsets[0] <= offsets[1]:
        raise ValueError(f'{where}: bad data_offsets {offsets!r}')
    if offsets[1] - offsets[0] != math.prod(shape) * DTYPES[e['dtype']][1]:
        raise ValueError(f'{where}: size mismatch: offsets span {offsets[1] - offsets[0]} bytes, shape {shape} of {e["dtype"]} needs {math.prod(shape) * DTYPES[e["dtype"]][1]}')
    return _Entry(name, e['dtype'], shape, offsets[0], offsets[1])

def _parse_header(data: bytes) -> tuple[list[_Entry], dict[str, str], int]:
    """Checks everything docs/safetensors.md lists; returns the entries, metadata and where data starts."""
    if len(data) < 8:
        raise ValueError(f'truncated safetensors file: {len(data)} bytes, fewer than the 8 of the header length')
    (n,) = struct.unpack_from('<Q', data)
    if n > MAX_HEADER:
        raise ValueError(f'safetensors header of {n} bytes exceeds the 100 MB limit')
    if len(data) < 8 + n:
        raise ValueError(f'truncated safetensors file: the header needs {n} bytes, {len(data) - 8} follow the length')
    try:
        text = bytes(data[8:8 + n]).decode('utf-8')
    except UnicodeDecodeError:
        raise ValueError('safetensors header is not UTF-8') from None
    header = _strict_json(text, 'safetensors header')
    if not isinstance(header, dict):
        raise ValueError('safetensors header is not a JSON object')
    metadata = header.pop('__metadata__', {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ValueError('safetensors __metadata__ must map strings to strings')
    entries = [_check_entry(name, e) for name, e in header.items()]
    size, at = len(data) - 8 - n, 0
    for e in sorted(entries, key=lambda e: (e.begin, e.end)):  # the data must be covered exactly
        if e.end > size:
            raise ValueError(f'safetensors tensor {e.name!r}: data_offsets out of range (end {e.end}, data section {size} bytes)')
        if e.begin != at:
            raise ValueError(f'safetensors tensor {e.name!r}: data_offsets {"overlap" if e.begin < at else "leave a gap"} at byte {at}')
        at = e.end
    if at != size:
        raise ValueError(f'safetensors data section has {size - at} bytes no tensor covers (a gap at the end)')
    return entries, metadata, 8 + n

class OwnCodec:
    """The format implemented here, for when `safetensors` is not installed."""

    def decode(self, data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        if sys.byteorder != 'little':
            raise ValueError('the own safetensors codec needs a little-endian machine')
        entries, metadata, start = _parse_header(data)
        tensors = {}
        for e in entries:
            raw = data[start + e.begin:start + e.end]
            if e.dtype == 'BOOL' and any(b > 1 for b in raw):
                raise ValueError(f'safetensors tensor {e.name!r}: BOOL bytes must be 0 or 1')
            dtype = DTYPES[e.dtype][0]
            # A copy per tensor: frombuffer needs a writable buffer, and each tensor gets aligned memory.
            tensors[e.name] = torch.frombuffer(bytearray(raw), dtype=dtype).reshape(e.shape) if raw else torch.empty(e.shape, dtype=dtype)
        return tensors, metadata

    def encode(self, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> bytes:
        header: dict[str, Any] = {} if metadata is None else {'__metadata__': _checked_metadata(metadata)}
        chunks, offset = [], 0
        for name, t in tensors.items():
            if not isinstance(name, str) or name == '__metadata__' or not isinstance(t, torch.Tensor) or t.dtype not in DTYPE_NAMES:
                raise ValueError(f'cannot write tensor {name!r}: need a str name and a tensor of {", ".join(DTYPES)}')
            raw = t.detach().to('cpu').contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
            header[name] = {'dtype': DTYPE_NAMES[t.dtype], 'shape': list(t.shape), 'data_offsets': [offset, offset + len(raw)]}
            chunks.append(raw)
            offset += len(raw)
        text = json.dumps(header, separators=(',', ':'), ensure_ascii=False).encode('utf-8')
        text += b' ' * (-len(text) % 8)  # the data section starts at a multiple of 8
        return struct.pack('<Q', len(text)) + text + b''.join(chunks)

class SafetensorsCodec:
    """`safetensors.torch`; the header is still checked here, which also yields __metadata__."""

    def __init__(self, module: Any) -> None:
        self.st = module

    def decode(self, data: bytes) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
        _, metadata, _ = _parse_header(data)
        return dict(self.st.load(bytes(data))), metadata

    def encode(self, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> bytes:
        plain = {k: t.detach().to('cpu').contiguous() for k, t in tensors.items()}
        return self.st.save(plain, None if metadata is None else _checked_metadata(metadata))

def _checked_metadata(metadata: dict) -> dict[str, str]:
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError('safetensors metadata must map strings to strings')
    return dict(metadata)

def _default_codec() -> Codec:
    try:
        import safetensors.torch
        return SafetensorsCodec(safetensors.torch)
    except ImportError:
        return OwnCodec()

OWN_CODEC: Codec = OwnCodec()
DEFAULT_CODEC: Codec = _default_codec()  # replace (or pass codec=) to force one

def read_safetensors(path_or_bytes: str | os.PathLike | bytes | bytearray | memoryview, codec: Codec | None = None) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Reads a safetensors file (a path, or its bytes): (tensors in header order, metadata). Malformed input raises ValueError."""
    data = bytes(path_or_bytes) if isinstance(path_or_bytes, (bytes, bytearray, memoryview)) else pathlib.Path(path_or_bytes).read_bytes()
    return (codec or DEFAULT_CODEC).decode(data)

def write_safetensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None, codec: Codec | None = None) -> None:
    """Writes tensors (in dict order) and string metadata; through a temporary file, so a crash leaves no half file."""
    data = (codec or DEFAULT_CODEC).encode(tensors, metadata)
    tmp = f'{os.fspath(path)}.tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)

# ---------------------------------------------------------------- hyperparameters

def _real(value: Any, where: str, high: float = math.inf, open_high: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f'{where} must be a plain number, got {type(value).__name__} {value!r}: adamw-wasm holds float hyperparameters')
    x = float(value)
    if not (0 <= x <= high and math.isfinite(x)) or (open_high and x == high):
        raise ValueError(f'{where} = {x} is out of range (adamw-wasm needs a finite value in [0, {high}{")" if open_high else "]"})')
    return x

def _torch_hyper(optimizer: str, group: dict, where: str) -> dict[str, Any]:
    """A group's torch-named hyperparameters, checked to be what adamw-wasm can hold (plus initial_lr if any)."""
    out: dict[str, Any] = {}
    for _, key in SHARED_HYPER[optimizer]:
        if key not in group:
            raise ValueError(f'{where} has no {key}')
        value, at = group[key], f'{where}.{key}'
        if key in BOOL_KEYS:
            if not isinstance(value, bool):
                raise ValueError(f'{at} must be True or False, got {value!r}')
            out[key] = value
        elif key == 'betas':
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise ValueError(f'{at} must be a pair (beta1, beta2), got {value!r}')
            out[key] = tuple(_real(b, f'{at}[{i}]', 1.0, open_high=True) for i, b in enumerate(value))
        else:
            out[key] = _real(value, at, 1.0 if key == 'dampening' else math.inf)
    # Newer torch: Adam(decoupled_weight_decay=True) is AdamW's maths, and AdamW is Adam with it set.
    if group.get('decoupled_weight_decay', optimizer == 'AdamW') != (optimizer == 'AdamW'):
        raise ValueError(f'{where}.decoupled_weight_decay = {group["decoupled_weight_decay"]!r} does not fit {optimizer}')
    if 'initial_lr' in group:  # kept by torch schedulers; the base lr
        out['initial_lr'] = _real(group['initial_lr'], f'{where}.initial_lr')
    return out

def _compile_patterns(patterns: Any, where: str) -> list[Callable[[str], bool]]:
    """excludeFromWeightDecay as predicates: exact names, or JS RegExps as `re` searches (JS test() searches too)."""
    if not isinstance(patterns, list):
        raise ValueError(f'{where}.excludeFromWeightDecay must be a list')
    out: list[Callable[[str], bool]] = []
    for i, p in enumerate(patterns):
        at = f'{where}.excludeFromWeightDecay[{i}]'
        if isinstance(p, str) and p:
            out.append(p.__eq__)
            continue
        if not (isinstance(p, dict) and set(p) <= {'regexp', 'flags'} and isinstance(p.get('regexp'), str) and isinstance(p.get('flags', ''), str)):
            raise ValueError(f'{at} must be a tensor name or {{"regexp", "flags"}}, got {p!r}')
        # Without JS's u flag \d \w \b are ASCII-only, as with re.ASCII.
        flags = re.ASCII
        for f in p.get('flags', ''):
            if f in JS_FLAGS:
                flags |= JS_FLAGS[f]
            elif f not in JS_IGNORED_FLAGS:
                raise ValueError(f'{at}: JS RegExp flag {f!r} has no Python re equivalent (only i, m, s map; g, y, d do not change test())')
        try:
            rx = re.compile(p['regexp'], flags)
        except re.error as e:
            raise ValueError(f'{at}: /{p["regexp"]}/ is not a regular expression Python reads ({e})') from None
        out.append(lambda name, rx=rx: rx.search(name) is not None)
    return out

# ---------------------------------------------------------------- reading the layout

@dataclass
class _Group:
    """One torch param group as the file describes it: tensor names and torch-named hyperparameters."""
    names: list[str]
    hyper: dict[str, Any]

@dataclass
class _Checkpoint:
    optimizer: str
    step_count: int
    groups: list[_Group]
    tensors: dict[str, torch.Tensor]
    shapes: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, Any] = field(default_factory=dict)
    clip_grad_norm: float | None = None
    non_finite: str | None = None
    notes: list[str] = field(default_factory=list)

def _check_format(meta: dict[str, str]) -> None:
    if meta.get('format') != FORMAT:
        raise ValueError(f'format is {meta.get("format")!r}, not {FORMAT!r}: not an adamw-wasm optimizer file')
    if meta.get('format_version') != FORMAT_VERSION:
        raise ValueError(f'format_version is {meta.get("format_version")!r}; this converter reads version {FORMAT_VERSION}')

def _read_checkpoint(path: str | os.PathLike) -> _Checkpoint:
    tensors, meta = read_safetensors(path)
    _check_format(meta)
    name = meta.get('optimizer')
    if name == 'SGDW':
        raise ValueError("optimizer 'SGDW' is refused: its decoupled decay and momentum m = beta*m + lr*g have no torch.optim equivalent")
    if name not in TORCH_CLASSES:
        raise ValueError(f'optimizer {name!r} is not one of AdamW, Adam, SGD')
    if not re.fullmatch(r'\d+', meta.get('step_count', '')):
        raise ValueError(f'step_count {meta.get("step_count")!r} is not a non-negative integer')
    if 'param_groups' not in meta:
        raise ValueError('the metadata has no param_groups')
    torch_groups = _strict_json(meta['param_groups'], 'param_groups')
    js = _strict_json(meta['adamw_wasm'], 'adamw_wasm') if 'adamw_wasm' in meta else None
    if not isinstance(torch_groups, list) or not torch_groups:
        raise ValueError('param_groups must be a non-empty JSON array')
    if js is not None and not (isinstance(js, dict) and isinstance(js.get('groups'), list) and len(js['groups']) == len(torch_groups)):
        raise ValueError('adamw_wasm must be an object whose groups match param_groups one to one')
    ck = _Checkpoint(name, int(meta['step_count']), [], tensors)
    seen: set[str] = set()
    for k, tg in enumerate(torch_groups):
        where = f'param_groups[{k}]'
        names = tg.get('params') if isinstance(tg, dict) else None
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names) or seen & set(names):
            raise ValueError(f'{where}.params must list tensor names, each once in the file')
        seen |= set(names)
        hyper = _torch_hyper(name, tg, where)
        matchers = _check_js_group(ck, js['groups'][k], hyper, names, k) if js is not None else []
        ck.groups += _split_excluded(names, hyper, matchers, k, ck.notes)
    if js is not None:
        _read_js_options(ck, js)
    return ck

def _check_js_group(ck: _Checkpoint, jg: Any, hyper: dict, names: list[str], k: int) -> list[Callable[[str], bool]]:
    """Refuses what torch cannot follow, checks it agrees with param_groups, and applies a saved schedule."""
    where, opt = f'adamw_wasm.groups[{k}]', ck.optimizer
    if not isinstance(jg, dict):
        raise ValueError(f'{where} must be an object')
    unknown = set(jg) - {js for js, _ in SHARED_HYPER[opt]} - set(JS_ONLY[opt]) - set(JS_HANDLED)
    if unknown:  # a setting we do not know might change the update: refusing is the safe side
        raise ValueError(f'{where} has settings this converter does not know: {", ".join(sorted(unknown))}')
    if jg.get('tensors', names) != names:
        raise ValueError(f'{where}.tensors differ from param_groups[{k}].params')
    for key, torch_value in JS_ONLY[opt].items():
        if jg.get(key, torch_value) != torch_value:
            raise ValueError(f'{where}.{key} = {jg[key]!r} is refused: {WHY_REFUSED[key]}')
    scheduled = jg.get('scheduled', False)
    if not isinstance(scheduled, bool):
        raise ValueError(f'{where}.scheduled must be true or false')
    for js_key, key in SHARED_HYPER[opt]:
        if js_key in jg and not (key == 'lr' and scheduled):
            value = tuple(jg[js_key]) if isinstance(jg[js_key], list) else jg[js_key]
            if value != hyper[key]:
                raise ValueError(f'{where}.{js_key} ({jg[js_key]!r}) disagrees with param_groups[{k}].{key} ({hyper[key]!r})')
    if scheduled:
        hyper.setdefault('initial_lr', _real(jg.get('lr', hyper['lr']), f'{where}.lr'))
        ck.notes.append(f'group {k} was saved with a schedule: lr is the next step\'s lr ({hyper["lr"]}) and initial_lr the base lr '
                        f'({hyper["initial_lr"]}); the schedule itself is not carried over: attach a torch scheduler to continue it')
    return _compile_patterns(jg.get('excludeFromWeightDecay', []), where)

def _split_excluded(names: list[str], hyper: dict, matchers: list, k: int, notes: list[str]) -> list[_Group]:
    """A group with exclusions is two torch groups: the excluded tensors get weight_decay 0 (same update)."""
    excluded = [n for n in names if any(m(n) for m in matchers)]
    if not excluded or hyper['weight_decay'] == 0:
        return [_Group(names, hyper)]
    notes.append(f'group {k}: {len(excluded)} tensor(s) excluded from weight decay form a torch group of their own with weight_decay 0')
    kept = [n for n in names if n not in excluded]
    return [g for g in (_Group(kept, hyper), _Group(excluded, {**hyper, 'weight_decay': 0.0})) if g.names]

def _read_js_options(ck: _Checkpoint, js: dict) -> None:
    options, shapes = js.get('options', {}), js.get('shapes', {})
    if not isinstance(options, dict) or not isinstance(shapes, dict):
        raise ValueError('adamw_wasm.options and adamw_wasm.shapes must be objects')
    clip = options.get('clipGradNorm')
    ck.clip_grad_norm = None if clip is None else _real(clip, 'adamw_wasm.options.clipGradNorm')
    ck.non_finite, ck.shapes = options.get('nonFinite'), shapes
    ck.sizes = js.get('sizes', {}) if isinstance(js.get('sizes', {}), dict) else {}
    if clip is not None:  # clipping is no optimizer state in torch: the caller's training loop does it
        ck.notes.append(f'clipGradNorm {clip}: call torch.nn.utils.clip_grad_norm_(params, {clip}) before each step()')

def _fit(key: str, t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    """A float32 array of the param's shape; a flat [numel] one (an adamw-wasm tensor given no shape) is reshaped."""
    if t.dtype != torch.float32:
        raise ValueError(f'{key} is {DTYPE_NAMES.get(t.dtype, t.dtype)}, not F32')
    if t.shape == shape:
        return t
    if t.dim() == 1 and t.numel() == shape.numel():
        return t.reshape(shape)
    raise ValueError(f'{key} has shape {list(t.shape)}, the parameter {list(shape)}')

def _read_step(ck: _Checkpoint, name: str) -> int:
    key = f'state.{name}.step'
    t = ck.tensors[key]
    if t.dim() != 0 or t.dtype not in (torch.int64, torch.float32, torch.float64):
        raise ValueError(f'{key} must be a 0-dim I64, F32 or F64')
    step = t.item()
    if not (0 <= step <= ck.step_count and step == int(step)):
        raise ValueError(f'{key} = {step} must be an integer in [0, step_count = {ck.step_count}]')
    return int(step)

# ---------------------------------------------------------------- torch <-> names

def _class_name(optimizer: torch.optim.Optimizer) -> str:
    for name, cls in TORCH_CLASSES.items():
        if type(optimizer) is cls:  # exact: a subclass may change the update
            return name
    raise ValueError(f'{type(optimizer).__name__}: only torch.optim.AdamW, Adam and SGD convert')

def _group_names(optimizer: torch.optim.Optimizer, model: torch.nn.Module) -> list[list[str]]:
    """The model's name of every optimizer param, group by group."""
    name_of = {id(p): n for n, p in model.named_parameters()}
    out = []
    for k, group in enumerate(optimizer.param_groups):
        for j, p in enumerate(group['params']):
            if id(p) not in name_of:
                raise ValueError(f'optimizer.param_groups[{k}] param {j} (shape {list(p.shape)}) is not a named parameter of the model')
        out.append([name_of[id(p)] for p in group['params']])
    return out

def _load_into(optimizer: torch.optim.Optimizer, model: torch.nn.Module, ck: _Checkpoint) -> dict[str, Any]:
    if _class_name(optimizer) != ck.optimizer:
        raise ValueError(f'the file holds {ck.optimizer} state; this optimizer is torch.optim.{_class_name(optimizer)}')
    names = _group_names(optimizer, model)
    by_set = {frozenset(g.names): g for g in ck.groups}
    unmatched = [k for k, ns in enumerate(names) if frozenset(ns) not in by_set]
    if unmatched or len(ck.groups) != len(names):
        raise ValueError(f'the optimizer\'s groups {names} do not match the file\'s {[g.names for g in ck.groups]} '
                         '(tensors may be in any order; a file group with excludeFromWeightDecay is two torch groups)')
    expected = {f'state.{n}.{a}' for g in ck.groups for n in g.names for a in ('step',) + _state_arrays(ck.optimizer, g.hyper)}
    params_keys = {f'params.{n}' for g in ck.groups for n in g.names}
    have = set(ck.tensors)
    if have & params_keys not in (set(), params_keys) or expected - have or have - expected - params_keys:
        raise ValueError(f'the file\'s tensors do not fit its groups: missing {sorted(expected - have)}, '
                         f'unexpected {sorted(have - expected - params_keys)} (params.* must cover all tensors or none)')
    params = dict(model.named_parameters())
    base_groups = optimizer.state_dict()['param_groups']  # torch's indices: params across groups, in order
    state, groups = {}, []
    for group_names, base in zip(names, base_groups):
        fg = by_set[frozenset(group_names)]
        groups.append({**base, **fg.hyper})
        for index, name in zip(base['params'], group_names):
            shape = params[name].shape
            if ck.shapes.get(name, list(shape)) != list(shape) or ck.sizes.get(name, shape.numel()) != shape.numel():
                raise ValueError(f'tensor {name!r}: adamw_wasm gives shape {ck.shapes.get(name)} / size {ck.sizes.get(name)}, the parameter has {list(shape)}')
            step = _read_step(ck, name)
            arrays = {a: _fit(f'state.{name}.{a}', ck.tensors[f'state.{name}.{a}'], shape) for a in _state_arrays(ck.optimizer, fg.hyper)}
            if step > 0 and (arrays or ck.optimizer != 'SGD'):  # torch keeps no state for a tensor never stepped
                state[index] = ({} if ck.optimizer == 'SGD' else {'step': torch.tensor(float(step))}) | arrays
    optimizer.load_state_dict({'state': state, 'param_groups': groups})
    return {'step_count': ck.step_count, 'clip_grad_norm': ck.clip_grad_norm, 'non_finite': ck.non_finite, 'notes': ck.notes}

def load_optimizer_state(optimizer: torch.optim.Optimizer, model: torch.nn.Module, path: str | os.PathLike) -> dict[str, Any]:
    """Loads the file's state into `optimizer` (torch.optim.AdamW, Adam or SGD over `model`'s named parameters).

    The optimizer's groups must hold the file's groups' tensors (any order); the file's hyperparameters
    replace the groups'. Returns what torch does not hold: {'step_count', 'clip_grad_norm', 'non_finite', 'notes'}.
    """
    return _load_into(optimizer, model, _read_checkpoint(path))

def optimizer_from_file(model: torch.nn.Module, path: str | os.PathLike, **overrides: Any) -> tuple[torch.optim.Optimizer, dict[str, Any]]:
    """Builds torch.optim.<the file's optimizer> with the file's groups over `model` and loads the state.

    `overrides` go to the constructor (foreach=..., capturable=...); hyperparameters come from the file.
    """
    ck = _read_checkpoint(path)
    params = dict(model.named_parameters())
    unknown = [n for g in ck.groups for n in g.names if n not in params]
    if unknown:
        raise ValueError(f'the model has no parameters named {unknown}')
    optimizer = TORCH_CLASSES[ck.optimizer]([{**g.hyper, 'params': [params[n] for n in g.names]} for g in ck.groups], **overrides)
    return optimizer, _load_into(optimizer, model, ck)

def load_params(model: torch.nn.Module, path: str | os.PathLike, strict: bool = True) -> None:
    """Loads `params.<name>` into the model's parameters; strict: every model parameter must be in the file."""
    tensors, meta = read_safetensors(path)
    _check_format(meta)
    saved = {k[len('params.'):]: t for k, t in tensors.items() if k.startswith('params.')}
    if not saved:
        raise ValueError('the file holds no params.* tensors (saved without include_params?)')
    named = dict(model.named_parameters())
    unknown, missing = sorted(set(saved) - set(named)), sorted(set(named) - set(saved))
    if unknown or (strict and missing):
        raise ValueError(f'params do not match the model: unknown {unknown}, missing {missing}')
    # Checked by name above; strict=False only because buffers (e.g. BatchNorm statistics) are never in the file.
    model.load_state_dict({n: _fit(f'params.{n}', t, named[n].shape) for n, t in saved.items()}, strict=False)

# ---------------------------------------------------------------- writing the layout

def _tensor_state(opt: str, hyper: dict, st: dict, p: torch.Tensor, name: str) -> tuple[int | None, dict[str, torch.Tensor]]:
    """(step, arrays) of one torch param; step None means 'stepped' for SGD, which keeps no count."""
    wanted = _state_arrays(opt, hyper)
    allowed = {'momentum_buffer'} if opt == 'SGD' else {'step', 'exp_avg', 'exp_avg_sq', 'max_exp_avg_sq'}
    if set(st) - allowed:
        raise ValueError(f'state of {name!r} holds {sorted(set(st) - allowed)}, which adamw-wasm has no place for')
    # SGD keeps a buffer only with momentum (a stale one from momentum switched off is unused by torch too).
    stepped = bool(wanted) and st.get('momentum_buffer') is not None if opt == 'SGD' else bool(st)
    if not stepped:  # never stepped: adamw-wasm holds zeros, so every tensor of a group has the same arrays
        return 0, {a: torch.zeros(p.shape, dtype=torch.float32) for a in wanted}
    missing = [a for a in wanted if a not in st]
    if missing:
        raise ValueError(f'state of {name!r} lacks {missing} (amsgrad switched on after stepping?)')
    arrays = {a: _fit(f'state of {name!r}: {a}', st[a].detach().to('cpu'), p.shape) for a in wanted}
    if opt == 'SGD':
        return None, arrays
    step = float(st['step'])
    if step < 0 or step != int(step):
        raise ValueError(f'state of {name!r}: step {step} is not a non-negative integer')
    return int(step), arrays

def save_optimizer_state(optimizer: torch.optim.Optimizer, model: torch.nn.Module, path: str | os.PathLike,
                         include_params: bool = False, step_count: int | None = None, *, clip_grad_norm: float | None = None) -> None:
    """Writes a torch.optim.AdamW/Adam/SGD's state in adamw-wasm's layout, naming tensors by model.named_parameters().

    step_count: completed step() calls; default the largest per-tensor step (Adam/AdamW), or for SGD, which
    keeps no count, 1 when any momentum buffer exists (tensors with one get step = step_count), else 0.
    clip_grad_norm: the max norm the caller clips to, recorded for adamw-wasm's clipGradNorm.
    """
    opt = _class_name(optimizer)
    group_names = _group_names(optimizer, model)
    records, torch_groups, js_groups, shapes, sizes = [], [], [], {}, {}
    for k, (group, names) in enumerate(zip(optimizer.param_groups, group_names)):
        hyper = _torch_hyper(opt, group, f'optimizer.param_groups[{k}]')
        for p, name in zip(group['params'], names):
            if p.dtype != torch.float32 or p.numel() == 0:
                raise ValueError(f'parameter {name!r} is {p.dtype} of {p.numel()} elements; adamw-wasm holds float32 tensors of at least one')
            records.append((name, p, *_tensor_state(opt, hyper, optimizer.state.get(p, {}), p, name)))
            shapes[name], sizes[name] = list(p.shape), p.numel()
        shared = {key: hyper[key] for _, key in SHARED_HYPER[opt]}
        # A torch scheduler is not carried over: adamw-wasm continues at the current lr, unscheduled, so
        # initial_lr (which adamw-wasm reads as the base lr of a schedule) is not written either.
        torch_groups.append({'params': names, **shared})
        js_groups.append({js: shared[key] for js, key in SHARED_HYPER[opt]} | JS_ONLY[opt] | {'excludeFromWeightDecay': [], 'scheduled': False})
    steps = [s for *_, s, _ in records if s is not None]
    stepped_sgd = any(s is None for *_, s, _ in records)
    if step_count is None:
        step_count = int(stepped_sgd) if opt == 'SGD' else max(steps, default=0)
    if not _is_int(step_count) or step_count < max(steps + [int(stepped_sgd)], default=0):
        raise ValueError(f'step_count {step_count!r} must be an integer >= every tensor\'s step ({max(steps + [int(stepped_sgd)], default=0)})')
    tensors: dict[str, torch.Tensor] = {}
    for name, _, step, arrays in records:
        tensors[f'state.{name}.step'] = torch.tensor(step_count if step is None else step, dtype=torch.int64)
        tensors.update({f'state.{name}.{a}': t for a, t in arrays.items()})
    if include_params:
        tensors.update({f'params.{name}': p.detach().to('cpu') for name, p, *_ in records})
    options = {'clipGradNorm': None if clip_grad_norm is None else _real(clip_grad_norm, 'clip_grad_norm'), 'nonFinite': DEFAULT_NON_FINITE}
    dump = lambda value: json.dumps(value, allow_nan=False, separators=(',', ':'))
    write_safetensors(path, tensors, {'format': FORMAT, 'format_version': FORMAT_VERSION, 'optimizer': opt, 'step_count': str(step_count),
                                      'param_groups': dump(torch_groups),
                                      'adamw_wasm': dump({'options': options, 'groups': js_groups, 'shapes': shapes, 'sizes': sizes})})

# ---------------------------------------------------------------- CLI

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description='adamw-wasm safetensors checkpoints, PyTorch side')
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('describe', help='print the metadata and the tensor list').add_argument('file')
    args = parser.parse_args(argv)
    try:
        tensors, meta = read_safetensors(args.file)
    except (OSError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    for key, value in meta.items():
        try:
            shown = json.dumps(json.loads(value), indent=2) if key in ('param_groups', 'adamw_wasm') else value
        except ValueError:
            shown = value
        print(f'{key}: {shown}')
    for key, t in tensors.items():
        print(f'{key}\t{DTYPE_NAMES[t.dtype]}\t{list(t.shape)}')
    return 0

if __name__ == '__main__':
    sys.exit(main())
