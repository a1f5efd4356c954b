#!/usr/bin/python3
"""WGAN-GP on Fashion-MNIST in plain PyTorch: the same recipe as torch-gan's default
(examples/mnist.ts --dset fashion, i.e. lib/cli/train-run.ts with --loss wgan-gp), for the
parity comparison in scripts/parity/run.ts.

Run with Debian's PyTorch (no pip packages needed):
  /usr/bin/python3 scripts/parity/pytorch_wgan_gp.py --iters 300 --out generated/parity/pytorch [--seed 1] [--threads 2]

Recipe (as torch-gan's GanTrainer and lib/gan/models.ts build it):
  generator (seed 003's make_generator_network_wgan(100, 32)): ConvT(100,128,4,1,0) IN LReLU(0.2)
     ConvT(128,64,3,2,1) IN LReLU  ConvT(64,32,4,2,1) IN LReLU  ConvT(32,1,4,2,1) Tanh, bias=False,
     InstanceNorm2d without affine parameters (PyTorch's default), so the state dict is
     0.weight, 3.weight, 6.weight, 9.weight: the same keys as torch-gan's dcganGenerator.
  critic (seed 003's DiscriminatorWGAN(32) without the Sigmoid): Conv(1,32,4,2,1) LReLU
     Conv(32,64,4,2,1) IN LReLU  Conv(64,128,3,2,1) IN LReLU  Conv(128,1,4,1,0), flattened to [N].
  init: DCGAN, conv weights N(0, 0.02).
  data: Fashion-MNIST train (60,000) from /usr/share/datasets/fashion-mnist, scaled x/127.5 - 1,
     reshuffled every epoch (numpy, seeded), batches of 64, last partial batch dropped.
  one iteration = 5 critic updates then 1 generator update; each critic update takes a NEW real
     batch and new noise z ~ N(0, 1) [64, 100, 1, 1]; loss D(fake).mean() - D(real).mean()
     + 10 * mean((||grad D(x_hat)|| - 1)^2), x_hat = eps*real + (1-eps)*fake, eps ~ U[0,1) per
     sample, the norm per sample as sqrt(sum g^2 + 1e-12); generator loss -D(G(z)).mean() with
     new noise (critic frozen). Adam lr 1e-4, betas (0.5, 0.9) for both.
Writes, in --out, a checkpoint that torch-gan loads (npx torch-gan evaluate --checkpoint OUT/checkpoints):
  checkpoints/latest.json, checkpoints/ckpt-NNNNNNNN/generator.safetensors (a minimal safetensors
  writer below: 8-byte little-endian header length, JSON header padded with spaces, raw
  little-endian float32 data), checkpoints/ckpt-NNNNNNNN/state.json (step and a torch-gan run config),
  plus losses.jsonl and timing.json.
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn

FASHION = '/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz'


def read_idx_images(path):
    with (gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb')) as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack('>IIII', data[:16])
    if magic != 2051:
        raise ValueError('%s: not an IDX image file (magic %d)' % (path, magic))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols)


def generator(z=100, f=32):
    return nn.Sequential(
        nn.ConvTranspose2d(z, f * 4, 4, 1, 0, bias=False), nn.InstanceNorm2d(f * 4), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(f * 4, f * 2, 3, 2, 1, bias=False), nn.InstanceNorm2d(f * 2), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(f * 2, f, 4, 2, 1, bias=False), nn.InstanceNorm2d(f), nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(f, 1, 4, 2, 1, bias=False), nn.Tanh())


def critic(f=32):
    return nn.Sequential(
        nn.Conv2d(1, f, 4, 2, 1, bias=False), nn.LeakyReLU(0.2),
        nn.Conv2d(f, f * 2, 4, 2, 1, bias=False), nn.InstanceNorm2d(f * 2), nn.LeakyReLU(0.2),
        nn.Conv2d(f * 2, f * 4, 3, 2, 1, bias=False), nn.InstanceNorm2d(f * 4), nn.LeakyReLU(0.2),
        nn.Conv2d(f * 4, 1, 4, 1, 0, bias=False), nn.Flatten(0))


def dcgan_init(model):
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def gradient_penalty(d, real, fake, lam=10.0):
    eps = torch.rand(real.shape[0], 1, 1, 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    out = d(x_hat)
    (g,) = torch.autograd.grad(out, x_hat, grad_outputs=torch.ones_like(out), create_graph=True, retain_graph=True)
    norms = torch.sqrt(g.reshape(g.shape[0], -1).pow(2).sum(1) + 1e-12)
    return lam * ((norms - 1) ** 2).mean(), norms.mean().item()


def save_safetensors(path, tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = t.detach().cpu().contiguous().to(torch.float32).numpy().astype('<f4')
        b = a.tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    if metadata:
        header['__metadata__'] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(',', ':')).encode('utf-8')
    text += b' ' * ((8 - (8 + len(text)) % 8) % 8)
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.write(struct.pack('<Q', len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iters', type=int, default=300)
    ap.add_argument('--out', default='generated/parity/pytorch')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    ap.add_argument('--data', default=FASHION)
    ap.add_argument('--batch-size', type=int, default=64)
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_idx_images(args.data)
    n = images.shape[0]
    bs = args.batch_size
    table = (np.arange(256, dtype=np.float64) * 2 - 255) / 255
    data = torch.from_numpy(table[images].astype(np.float32))

    g, d = generator(), critic()
    dcgan_init(g)
    dcgan_init(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.9))

    state = {'epoch': 0, 'pos': 0, 'perm': np.random.default_rng([args.seed, 0]).permutation(n)}

    def next_batch():
        if state['pos'] + bs > n:
            state['epoch'] += 1
            state['pos'] = 0
            state['perm'] = np.random.default_rng([args.seed, state['epoch']]).permutation(n)
        idx = torch.from_numpy(state['perm'][state['pos']:state['pos'] + bs].astype(np.int64))
        state['pos'] += bs
        return data.index_select(0, idx)

    os.makedirs(args.out, exist_ok=True)
    log = open(os.path.join(args.out, 'losses.jsonl'), 'w')
    t0 = time.time()
    for it in range(1, args.iters + 1):
        c_loss = w = pen = gn = 0.0
        for _ in range(5):
            real = next_batch()
            z = torch.randn(real.shape[0], 100, 1, 1)
            with torch.no_grad():
                fake = g(z)
            opt_d.zero_grad(set_to_none=True)
            d_real, d_fake = d(real), d(fake)
            gp, norm = gradient_penalty(d, real, fake)
            loss = d_fake.mean() - d_real.mean() + gp
            loss.backward()
            opt_d.step()
            c_loss += loss.item() / 5
            w += (d_real.mean() - d_fake.mean()).item() / 5
            pen += gp.item() / 5
            gn += norm / 5
        for p in d.parameters():
            p.requires_grad_(False)
        opt_g.zero_grad(set_to_none=True)
        g_loss = -d(g(torch.randn(bs, 100, 1, 1))).mean()
        g_loss.backward()
        opt_g.step()
        for p in d.parameters():
            p.requires_grad_(True)
        log.write(json.dumps({'iter': it, 'criticLoss': c_loss, 'generatorLoss': g_loss.item(), 'wasserstein': w,
                              'penalty': pen, 'gradNorm': gn, 'seconds': time.time() - t0}) + '\n')
        if it % 50 == 0 or it == args.iters:
            log.flush()
            print('iter %d/%d  D %.4f  G %.4f  W %.4f  (%.1f s)' % (it, args.iters, c_loss, g_loss.item(), w, time.time() - t0), flush=True)
    log.close()
    seconds = time.time() - t0

    config = {
        'loss': 'wgan-gp', 'generator': 'deconv', 'dset': 'fashion', 'imgDim': 28, 'iters': args.iters,
        'batchSize': bs, 'criticNorm': 'instance', 'generatorNorm': 'instance', 'noiseDim': 100, 'noiseScale': 1,
        'noiseKind': 'normal', 'baseWidth': 32, 'nCritic': 5, 'clamp': {'lower': -0.01, 'upper': 0.01},
        'optD': 'adam', 'optG': 'adam', 'lrD': 1e-4, 'lrG': 1e-4, 'betas': [0.5, 0.9], 'lambda': 10,
        'device': 'cpu', 'seed': args.seed, 'sampleEvery': 100, 'checkpointEvery': args.iters, 'channels': 1,
        'trainedWith': 'PyTorch %s (scripts/parity/pytorch_wgan_gp.py)' % torch.__version__,
    }
    root = os.path.join(args.out, 'checkpoints')
    name = 'ckpt-%08d' % args.iters
    ck = os.path.join(root, name)
    os.makedirs(ck, exist_ok=True)
    save_safetensors(os.path.join(ck, 'generator.safetensors'), g.state_dict(),
                     {'format': 'pt', 'torch-gan.config': json.dumps(config)})
    with open(os.path.join(ck, 'state.json'), 'w') as f:
        json.dump({'step': args.iters, 'config': config, 'format': 1}, f)
    with open(os.path.join(root, 'latest.json'), 'w') as f:
        json.dump({'checkpoint': name, 'step': args.iters}, f)
    with open(os.path.join(args.out, 'config.json'), 'w') as f:
        json.dump(config, f, indent=2)
    timing = {'iters': args.iters, 'seconds': seconds, 'itPerSecond': args.iters / seconds,
              'threads': torch.get_num_threads(), 'torch': torch.__version__}
    with open(os.path.join(args.out, 'timing.json'), 'w') as f:
        json.dump(timing, f, indent=2)
    print('done: %d iterations in %.1f s (%.2f it/s); generator in %s' % (args.iters, seconds, args.iters / seconds, ck))


if __name__ == '__main__':
    main()
