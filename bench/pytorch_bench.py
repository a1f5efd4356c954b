"""The PyTorch side of the torch-gan benchmarks.

The same GAN iterations as bench/workloads.ts (torch-gan) and bench/cpp/bench.cpp
(libtorch C++), written as the textbook writes them (seed notebook 24: DCGAN and
WGAN-GP on 28x28 images). A long-lived worker: it reads commands on stdin and
answers each with one JSON line on stdout.

  info                     versions and thread counts
  run <workload> <iters>   <iters> iterations of wgan-gp | dragan | dcgan, timed
  quit

Run it with Debian's python (the same libtorch 1.13 as torch-gan):
  /usr/bin/python3 bench/pytorch_bench.py --threads 2
"""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64
Z = 100
N_FILTERS = 32


def load_images(path, limit):
    """Fashion-MNIST images (IDX, gzipped or not) as a uint8 tensor [n, 1, 28, 28]."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rb') as f:
        hdr = f.read(16)
        magic, n, rows, cols = (int.from_bytes(hdr[i:i + 4], 'big') for i in (0, 4, 8, 12))
        if magic != 0x803:
            raise ValueError(f'not an IDX image file: {path}')
        n = min(n, limit)
        buf = f.read(n * rows * cols)
    return torch.from_numpy(np.frombuffer(buf, dtype=np.uint8).copy()).view(n, 1, rows, cols)


class Data:
    def __init__(self, images):
        self.images = images
        self.cursor = 0

    def next(self):
        """The next batch scaled to [-1, 1] (sequential, wrapping)."""
        if self.cursor + BATCH > self.images.shape[0]:
            self.cursor = 0
        x = self.images[self.cursor:self.cursor + BATCH].float().div(127.5).sub(1)
        self.cursor += BATCH
        return x


def norm_layer(kind, c):
    return nn.InstanceNorm2d(c) if kind == 'instance' else nn.BatchNorm2d(c)


def make_generator_network(input_size, n_filters, norm='instance'):
    """make_generator_network_wgan (InstanceNorm2d) or make_generator_network (BatchNorm2d)."""
    return nn.Sequential(
        nn.ConvTranspose2d(input_size, n_filters * 4, 4, 1, 0, bias=False),
        norm_layer(norm, n_filters * 4),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(n_filters * 4, n_filters * 2, 3, 2, 1, bias=False),
        norm_layer(norm, n_filters * 2),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(n_filters * 2, n_filters, 4, 2, 1, bias=False),
        norm_layer(norm, n_filters),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(n_filters, 1, 4, 2, 1, bias=False),
        nn.Tanh())


class Critic(nn.Module):
    """DiscriminatorWGAN (or Discriminator with BatchNorm2d) without the final Sigmoid."""

    def __init__(self, n_filters, norm='instance'):
        super().__init__()
        self.network = nn.Sequential(
            nn.Conv2d(1, n_filters, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2),
            nn.Conv2d(n_filters, n_filters * 2, 4, 2, 1, bias=False),
            norm_layer(norm, n_filters * 2),
            nn.LeakyReLU(0.2),
            nn.Conv2d(n_filters * 2, n_filters * 4, 3, 2, 1, bias=False),
            norm_layer(norm, n_filters * 4),
            nn.LeakyReLU(0.2),
            nn.Conv2d(n_filters * 4, 1, 4, 1, 0, bias=False))

    def forward(self, x):
        return self.network(x).view(-1, 1).squeeze(0)


def penalty_at(critic, x_hat, lambda_gp=10.0):
    """λ·mean((‖∇D(x̂)‖₂ per sample − 1)²), differentiable (create_graph); the norm in float32."""
    x_hat.requires_grad_(True)
    out = critic(x_hat)
    g = torch.autograd.grad(outputs=out, inputs=x_hat, grad_outputs=torch.ones_like(out),
                            create_graph=True, retain_graph=True)[0]
    return lambda_gp * ((g.float().view(g.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Workload:
    """amp: the forwards (and the penalty's) under torch.autocast('cpu', bfloat16), PyTorch's own
    mixed precision; scores cast to float32 before the losses, backward outside the region."""

    def __init__(self, name, data, amp=False):
        self.name = name
        self.data = data
        self.amp = amp
        norm = 'batch' if name == 'dcgan' else 'instance'
        self.G = make_generator_network(Z, N_FILTERS, norm)
        self.D = Critic(N_FILTERS, norm)
        lr, betas = (1e-4, (0.5, 0.9)) if name == 'wgan-gp' else (2e-4, (0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)

    def noise(self):
        return torch.randn(BATCH, Z, 1, 1)

    def region(self):
        return torch.autocast('cpu', dtype=torch.bfloat16, enabled=self.amp)

    def iteration(self):
        G, D = self.G, self.D
        if self.name == 'wgan-gp':
            for _ in range(5):
                real = self.data.next()
                with self.region():
                    fake = G(self.noise()).detach().float()
                D.zero_grad(set_to_none=True)
                with self.region():
                    d_real = D(real).float()
                    d_fake = D(fake).float()
                    with torch.no_grad():
                        eps = torch.rand(BATCH, 1, 1, 1)
                        x_hat = eps * real + (1 - eps) * fake
                    loss = d_fake.mean() - d_real.mean() + penalty_at(D, x_hat)
                loss.backward()
                self.opt_d.step()
                d_loss = loss.item()
            G.zero_grad(set_to_none=True)
            with self.region():
                g_loss = -D(G(self.noise()).float()).float().mean()
            g_loss.backward()
            self.opt_g.step()
            return d_loss, g_loss.item()
        real = self.data.next()
        with self.region():
            fake = G(self.noise()).detach().float()
        D.zero_grad(set_to_none=True)
        with self.region():
            loss = bce(D(real).float(), 1.0) + bce(D(fake).float(), 0.0)
            if self.name == 'dragan':
                with torch.no_grad():
                    x_p = real + 0.5 * real.std() * torch.rand_like(real)
                    alpha = torch.rand(BATCH, 1, 1, 1)
                    x_hat = alpha * real + (1 - alpha) * x_p
                loss = loss + penalty_at(D, x_hat)
        loss.backward()
        self.opt_d.step()
        d_loss = loss.item()
        G.zero_grad(set_to_none=True)
        with self.region():
            g_loss = bce(D(G(self.noise()).float()).float(), 1.0)
        g_loss.backward()
        self.opt_g.step()
        return d_loss, g_loss.item()


def num(v):
    return v if math.isfinite(v) else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--data', default='/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz')
    ap.add_argument('--limit', type=int, default=10000)
    ap.add_argument('--impl', default='py', help="the name the replies carry ('py-bf16' with --autocast)")
    ap.add_argument('--autocast', action='store_true', help="torch.autocast('cpu', bfloat16) around the forwards")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(3)
    data = None
    workloads = {}
    out = sys.stdout

    def send(obj):
        out.write(json.dumps(obj) + '\n')
        out.flush()

    send({'ready': True, 'impl': args.impl})
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        try:
            if cmd == 'quit':
                break
            if cmd == 'info':
                send({'impl': args.impl, 'torch': torch.__version__, 'python': sys.version.split()[0],
                      'threads': torch.get_num_threads(), 'interop_threads': torch.get_num_interop_threads(),
                      'openblas_num_threads': os.environ.get('OPENBLAS_NUM_THREADS', ''),
                      'fast_kernels': False, 'parallel_info': torch.__config__.parallel_info()})
            elif cmd == 'peak':
                # the machine's matrix-product rate at these threads: n x n products, best of 5
                n, dtype = int(parts[1]), {'float32': torch.float32, 'bfloat16': torch.bfloat16}[parts[2]]
                a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
                torch.mm(a, b)
                best = float('inf')
                for _ in range(5):
                    t = time.perf_counter()
                    for _ in range(5):
                        torch.mm(a, b)
                    best = min(best, (time.perf_counter() - t) / 5)
                send({'impl': args.impl, 'peak': parts[2], 'n': n, 'gflops': 2 * n ** 3 / best / 1e9})
            elif cmd == 'flops':
                # floating-point operations of one iteration, by torch's own formulas (2.x only)
                # (a dispatch mode over torch's formulas: FlopCounterMode's module tracker refuses autograd.grad)
                name = parts[1]
                try:
                    from torch.utils.flop_counter import flop_registry
                    from torch.utils._python_dispatch import TorchDispatchMode
                except ImportError:
                    send({'impl': args.impl, 'workload': name, 'gflop': None})
                    continue

                class FlopCount(TorchDispatchMode):
                    total = 0

                    def __torch_dispatch__(self, func, types, fargs=(), fkwargs=None):
                        fkwargs = fkwargs or {}
                        out = func(*fargs, **fkwargs)
                        formula = flop_registry.get(func._overloadpacket)
                        if formula is not None:
                            FlopCount.total += formula(*fargs, **fkwargs, out_val=out)
                        return out

                if data is None:
                    data = Data(load_images(args.data, args.limit))
                w = Workload(name, data, amp=args.autocast)
                with FlopCount():
                    w.iteration()
                send({'impl': args.impl, 'workload': name, 'gflop': FlopCount.total / 1e9})
            elif cmd == 'run':
                name, iters = parts[1], int(parts[2])
                if name not in ('wgan-gp', 'dragan', 'dcgan'):
                    raise ValueError(f"unknown workload '{name}'")
                if data is None:
                    data = Data(load_images(args.data, args.limit))
                w = workloads.get(name)
                if w is None:
                    w = workloads[name] = Workload(name, data, amp=args.autocast)
                ms = []
                first = last = (float('nan'), float('nan'))
                t0 = time.perf_counter()
                for i in range(iters):
                    ti = time.perf_counter()
                    last = w.iteration()
                    ms.append((time.perf_counter() - ti) * 1e3)
                    if i == 0:
                        first = last
                total = (time.perf_counter() - t0) * 1e3
                send({'impl': args.impl, 'workload': name, 'iters': iters, 'total_ms': total, 'iter_ms': ms,
                      'd_loss': num(first[0]), 'g_loss': num(first[1]),
                      'last_d_loss': num(last[0]), 'last_g_loss': num(last[1])})
            else:
                raise ValueError(f"unknown command '{cmd}'")
        except Exception as e:  # report and keep serving
            send({'impl': args.impl, 'error': f'{type(e).__name__}: {e}'})


if __name__ == '__main__':
    main()
