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
    """λ·mean((‖∇D(x̂)‖₂ per sample − 1)²), differentiable (create_graph)."""
    x_hat.requires_grad_(True)
    out = critic(x_hat)
    g = torch.autograd.grad(outputs=out, inputs=x_hat, grad_outputs=torch.ones_like(out),
                            create_graph=True, retain_graph=True)[0]
    return lambda_gp * ((g.view(g.size(0), -1).norm(2, dim=1) - 1) ** 2).mean()


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


class Workload:
    def __init__(self, name, data):
        self.name = name
        self.data = data
        norm = 'batch' if name == 'dcgan' else 'instance'
        self.G = make_generator_network(Z, N_FILTERS, norm)
        self.D = Critic(N_FILTERS, norm)
        lr, betas = (1e-4, (0.5, 0.9)) if name == 'wgan-gp' else (2e-4, (0.5, 0.999))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)

    def noise(self):
        return torch.randn(BATCH, Z, 1, 1)

    def iteration(self):
        G, D = self.G, self.D
        if self.name == 'wgan-gp':
            for _ in range(5):
                real = self.data.next()
                fake = G(self.noise()).detach()
                D.zero_grad(set_to_none=True)
                d_real = D(real)
                d_fake = D(fake)
                with torch.no_grad():
                    eps = torch.rand(BATCH, 1, 1, 1)
                    x_hat = eps * real + (1 - eps) * fake
                loss = d_fake.mean() - d_real.mean() + penalty_at(D, x_hat)
                loss.backward()
                self.opt_d.step()
                d_loss = loss.item()
            G.zero_grad(set_to_none=True)
            g_loss = -D(G(self.noise())).mean()
            g_loss.backward()
            self.opt_g.step()
            return d_loss, g_loss.item()
        real = self.data.next()
        fake = G(self.noise()).detach()
        D.zero_grad(set_to_none=True)
        loss = bce(D(real), 1.0) + bce(D(fake), 0.0)
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
        g_loss = bce(D(G(self.noise())), 1.0)
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

    send({'ready': True, 'impl': 'py'})
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd = parts[0]
        try:
            if cmd == 'quit':
                break
            if cmd == 'info':
                send({'impl': 'py', 'torch': torch.__version__, 'python': sys.version.split()[0],
                      'threads': torch.get_num_threads(), 'interop_threads': torch.get_num_interop_threads(),
                      'openblas_num_threads': os.environ.get('OPENBLAS_NUM_THREADS', ''),
                      'fast_kernels': False, 'parallel_info': torch.__config__.parallel_info()})
            elif cmd == 'run':
                name, iters = parts[1], int(parts[2])
                if name not in ('wgan-gp', 'dragan', 'dcgan'):
                    raise ValueError(f"unknown workload '{name}'")
                if data is None:
                    data = Data(load_images(args.data, args.limit))
                w = workloads.get(name)
                if w is None:
                    w = workloads[name] = Workload(name, data)
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
                send({'impl': 'py', 'workload': name, 'iters': iters, 'total_ms': total, 'iter_ms': ms,
                      'd_loss': num(first[0]), 'g_loss': num(first[1]),
                      'last_d_loss': num(last[0]), 'last_g_loss': num(last[1])})
            else:
                raise ValueError(f"unknown command '{cmd}'")
        except Exception as e:  # report and keep serving
            send({'impl': 'py', 'error': f'{type(e).__name__}: {e}'})


if __name__ == '__main__':
    main()
