"""The Python side of bench/phases.ts: PyTorch's WGAN-GP iteration (bench/pytorch_bench.py's)
timed phase by phase. Prints one JSON object: ms per iteration for each phase.

  /usr/bin/python3 bench/phases.py [--threads 2] [--iters 15] [--warmup 3]
"""
import argparse
import json
import time

import torch

import pytorch_bench as pb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--iters', type=int, default=15)
    ap.add_argument('--warmup', type=int, default=3)
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist')
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(3)
    w = pb.Workload('wgan-gp', pb.Data(pb.load_images(args.data + '/train-images-idx3-ubyte.gz', 10000)))
    G, D = w.G, w.D
    times = {}
    clock = [0.0]

    def lap(k):
        t = time.perf_counter()
        times[k] = times.get(k, 0.0) + (t - clock[0]) * 1e3
        clock[0] = t

    def iteration():
        for _ in range(5):
            clock[0] = time.perf_counter()
            real = w.data.next()
            fake = G(w.noise()).detach()
            lap('generator forward (critic steps)')
            D.zero_grad(set_to_none=True)
            d_real = D(real)
            d_fake = D(fake)
            lap('critic forward, real and fake')
            with torch.no_grad():
                eps = torch.rand(pb.BATCH, 1, 1, 1)
                x_hat = eps * real + (1 - eps) * fake
            penalty = pb.penalty_at(D, x_hat)
            lap('penalty: forward and input gradient')
            loss = d_fake.mean() - d_real.mean() + penalty
            loss.backward()
            lap('critic backward (incl. double backward)')
            w.opt_d.step()
            loss.item()
            lap('critic Adam step')
        clock[0] = time.perf_counter()
        G.zero_grad(set_to_none=True)
        g_loss = -D(G(w.noise())).mean()
        lap('generator step: forward')
        g_loss.backward()
        lap('generator step: backward')
        w.opt_g.step()
        g_loss.item()
        lap('generator Adam step')

    for _ in range(args.warmup):
        iteration()
    times.clear()
    for _ in range(args.iters):
        iteration()
    print(json.dumps({k: v / args.iters for k, v in times.items()}))


if __name__ == '__main__':
    main()
