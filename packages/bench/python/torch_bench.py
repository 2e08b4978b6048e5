"""PyTorch CPU peer for adamw-bench: torch.optim.AdamW on one parameter tensor.

Serve mode (what the CLI uses, so torch is interleaved with the other backends):

    /usr/bin/python3 torch_bench.py --size N [--foreach | --for-loop | --fused] [--threads T] [--amsgrad]

--threads sets torch's intra-op threads (default 1). --fused asks for torch's fused CPU kernel
(torch 2.4+); where this torch lacks it, the one line printed is {"ready": false, "why": ...}.

prints one JSON line {"ready": true, "torch": version, "capability": ...}, then for every stdin
line holding a step count k runs k optimizer steps back to back and prints {"ms": total}.
Exits at the end of input. Nothing else is written to stdout.
"""
import argparse
import json
import re
import sys
import time

import torch


def capability():
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, required=True)
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--foreach", dest="foreach", action="store_true", default=True)
    mode.add_argument("--for-loop", dest="foreach", action="store_false")
    mode.add_argument("--fused", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--amsgrad", action="store_true")
    args = ap.parse_args()
    if args.size < 1:
        ap.error("--size must be positive")
    if args.threads < 1:
        ap.error("--threads must be positive")

    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    param = torch.nn.Parameter(torch.rand(args.size, generator=g) * 2 - 1)
    param.grad = torch.rand(args.size, generator=g) * 2 - 1
    # torch.optim.AdamW defaults: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight_decay 1e-2.
    if args.fused:
        try:
            opt = torch.optim.AdamW([param], fused=True, amsgrad=args.amsgrad)
            with torch.no_grad():
                opt.step()  # some versions accept fused=True and refuse CPU tensors only here
        except (TypeError, RuntimeError, ValueError) as error:
            sys.stdout.write(json.dumps({"ready": False, "why": f"torch {torch.__version__} has no fused CPU AdamW ({error})"}) + "\n")
            return
    else:
        opt = torch.optim.AdamW([param], foreach=args.foreach, amsgrad=args.amsgrad)

    out = sys.stdout
    out.write(json.dumps({
        "ready": True,
        "torch": torch.__version__,
        "capability": capability(),
        "threads": torch.get_num_threads(),
        "foreach": args.foreach,
        "fused": args.fused,
    }) + "\n")
    out.flush()
    with torch.no_grad():
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            steps = int(line)
            t0 = time.perf_counter()
            for _ in range(steps):
                opt.step()
            ms = (time.perf_counter() - t0) * 1e3
            out.write(json.dumps({"ms": ms}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
