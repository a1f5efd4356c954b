"""Per-op overhead of PyTorch on tiny tensors (the Python side of bench/micro.ts).

Each op runs n times in a plain loop on one-element float32 tensors; the result of
the previous iteration is released when the name is rebound, so every op includes
freeing its result, as `t.dispose()` does on the torch-gan side. Prints one JSON
object: median ns/op over the repeats.

  /usr/bin/python3 bench/micro.py [--n 100000] [--repeats 7] [--threads 1]
"""
import argparse
import json
import time

import torch


def per_op(n, body):
    t0 = time.perf_counter_ns()
    body(n)
    return (time.perf_counter_ns() - t0) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--n', type=int, default=100000)
    ap.add_argument('--repeats', type=int, default=7)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    a = torch.ones(1)
    b = torch.ones(1)

    def loop(n):
        for _ in range(n):
            pass

    def add(n):
        for _ in range(n):
            r = a.add(b)

    def mul(n):
        for _ in range(n):
            r = a.mul(b)

    def add_scalar(n):
        for _ in range(n):
            r = a.add(1.5)

    def view(n):
        for _ in range(n):
            r = a.view(1, 1)

    def tsum(n):
        for _ in range(n):
            r = a.sum()

    def zeros(n):
        for _ in range(n):
            r = torch.zeros([1])

    def item(n):
        for _ in range(n):
            r = a.item()

    def numel(n):
        for _ in range(n):
            r = a.numel()

    ops = {'loop': loop, 'add': add, 'mul': mul, 'add_scalar': add_scalar, 'view': view, 'sum': tsum,
           'zeros': zeros, 'item': item, 'numel': numel}
    res = {k: [] for k in list(ops) + ['create', 'dispose', 'dispose_bulk']}
    for _ in range(args.repeats):
        for k, f in ops.items():
            res[k].append(per_op(args.n, f))
        made = []
        append = made.append
        t0 = time.perf_counter_ns()
        for _ in range(args.n):
            append(torch.zeros([1]))
        res['create'].append((time.perf_counter_ns() - t0) / args.n)
        # one by one: each reference dropped by a statement of its own (torch-gan: t.dispose() in a loop)
        t0 = time.perf_counter_ns()
        for i in range(args.n):
            made[i] = None
        res['dispose'].append((time.perf_counter_ns() - t0) / args.n)
        # all at once: one call frees the lot (torch-gan: tg.dispose(made), one native call)
        made = [torch.zeros([1]) for _ in range(args.n)]
        t0 = time.perf_counter_ns()
        made.clear()
        res['dispose_bulk'].append((time.perf_counter_ns() - t0) / args.n)

    def median(xs):
        s = sorted(xs)
        m = len(s) // 2
        return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2

    print(json.dumps({'impl': 'py', 'torch': torch.__version__, 'n': args.n, 'repeats': args.repeats,
                      'micro': {k: median(v) for k, v in res.items()}}))


if __name__ == '__main__':
    main()
