"""The PyTorch side of bench/profile.ts (not named profile.py: that would shadow the standard library module cProfile imports): torch.profiler over iterations of a workload of
bench/pytorch_bench.py, as JSON rows {name, calls, selfMs, totalMs} (per iteration) on stdout."""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pytorch_bench as pb  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--workload', default='wgan-gp')
    ap.add_argument('--iters', type=int, default=5)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--autocast', action='store_true')
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(3)
    w = pb.Workload(a.workload, pb.Data(pb.load_images(a.data, 10000)), amp=a.autocast)
    for _ in range(3):
        w.iteration()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(a.iters):
            w.iteration()
    rows = [{'name': e.key, 'calls': e.count / a.iters, 'selfMs': e.self_cpu_time_total / 1e3 / a.iters,
             'totalMs': e.cpu_time_total / 1e3 / a.iters} for e in prof.key_averages()]
    print(json.dumps(rows))


if __name__ == '__main__':
    main()
