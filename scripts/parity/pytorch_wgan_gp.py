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
Checkpoints and the exact resume (for runs longer than a session, scripts/results/parity-run.sh):
  --checkpoint-every K writes that checkpoint at every multiple of K (default: only at --iters) and,
  beside it, the resume state checkpoints/resume.pt (torch.save of both networks, both optimizers,
  the torch RNG state, the data order: epoch, cursor, permutation; and the recipe flags). Each file
  is written to a temporary name, then os.replace-d; latest.json goes last. The two newest ckpt-N
  folders are kept, and those whose step is a multiple of --keep-every M (default 1000).
  --resume continues from resume.pt exactly (the same weights as a straight run: test/parity-resume.test.ts);
  --seed, --batch-size and --data default to the saved ones and must agree with them when given.
    /usr/bin/python3 scripts/parity/pytorch_wgan_gp.py --iters 2000 --out RUN --seed 2 --threads 1 --checkpoint-every 250 --resume
"""
import argparse
import gzip
import json
import os
import re
import shutil
import struct
import sys
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


RECIPE_FLAGS = (('seed', '--seed', 1), ('batch_size', '--batch-size', 64), ('data', '--data', FASHION))
RESUME_FILE = 'resume.pt'
CKPT_RE = re.compile(r'^ckpt-(\d{8})$')


class UsageError(Exception):
    """A flag that cannot be honoured: printed as one line, no traceback."""


def fsync_dir(path):
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json_atomic(path, obj, indent=None):
    tmp = '%s.tmp-%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=indent)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_torch_atomic(path, obj):
    tmp = '%s.tmp-%d' % (path, os.getpid())
    with open(tmp, 'wb') as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def prune_checkpoints(root, current, keep_every, keep=2):
    """Removes the ckpt dirs beyond the `keep` newest (as torch-gan does), except steps that are multiples of keep_every."""
    dirs = sorted(f for f in os.listdir(root) if CKPT_RE.match(f))
    kept = set(dirs[-keep:]) | {current}
    for f in dirs:
        step = int(CKPT_RE.match(f).group(1))
        if f in kept or (keep_every > 0 and step % keep_every == 0):
            continue
        shutil.rmtree(os.path.join(root, f), ignore_errors=True)


def load_resume_state(path, args):
    """The saved state of --resume, with the recipe flags filled in from it (given ones must agree)."""
    if not os.path.isfile(path):
        raise UsageError('--resume: no resume state at %s (a run of this script with checkpoints writes it there; '
                         'is --out the same folder?)' % path)
    try:
        st = torch.load(path)
    except Exception as e:  # a truncated or foreign file
        raise UsageError('--resume: cannot read %s (%s)' % (path, e))
    if not isinstance(st, dict) or st.get('format') != 1 or 'recipe' not in st:
        raise UsageError('--resume: %s is not a resume state of this script' % path)
    for key, flag, _ in RECIPE_FLAGS:
        saved = st['recipe'][key]
        given = getattr(args, key)
        if key == 'data' and given is not None:
            given = os.path.abspath(given)
        if given is not None and given != saved:
            raise UsageError('%s %s contradicts the resumed run (%s %s, in %s): resume with the same %s or start a new --out'
                             % (flag, given, flag, saved, path, flag))
        setattr(args, key, saved)
    if args.iters < st['step']:
        raise UsageError('--iters %d is below the resumed step %d (in %s)' % (args.iters, st['step'], path))
    return st


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--iters', type=int, default=300, help='generator iterations to reach (with --resume: in total)')
    ap.add_argument('--out', default='generated/parity/pytorch')
    ap.add_argument('--seed', type=int, default=None, help='seed (default 1; with --resume: the saved one)')
    ap.add_argument('--threads', type=int, default=0, help='torch threads (0: leave the default)')
    ap.add_argument('--data', default=None, help='IDX training images (default %s; with --resume: the saved one)' % FASHION)
    ap.add_argument('--batch-size', type=int, default=None, help='batch size (default 64; with --resume: the saved one)')
    ap.add_argument('--checkpoint-every', type=int, default=None,
                    help='write a checkpoint (and the resume state) at every multiple of K iterations (default: --iters, i.e. only at the end)')
    ap.add_argument('--keep-every', type=int, default=1000,
                    help='checkpoints at multiples of M are kept; the others beyond the newest two are removed (0: keep only the newest two)')
    ap.add_argument('--resume', action='store_true', help='continue exactly from OUT/checkpoints/%s' % RESUME_FILE)
    args = ap.parse_args()
    try:
        run(args)
    except UsageError as e:
        sys.stderr.write('pytorch_wgan_gp.py: %s\n' % e)
        sys.exit(2)


def run(args):
    if args.iters < 1:
        raise UsageError('--iters must be >= 1, received %d' % args.iters)
    if args.checkpoint_every is None:
        args.checkpoint_every = args.iters
    if args.checkpoint_every < 1:
        raise UsageError('--checkpoint-every must be >= 1, received %d' % args.checkpoint_every)
    if args.keep_every < 0:
        raise UsageError('--keep-every must be >= 0, received %d' % args.keep_every)
    root = os.path.join(args.out, 'checkpoints')
    resume_path = os.path.join(root, RESUME_FILE)
    saved = load_resume_state(resume_path, args) if args.resume else None
    for key, _, default in RECIPE_FLAGS:
        if getattr(args, key) is None:
            setattr(args, key, default)
    args.data = os.path.abspath(args.data)
    if args.batch_size < 1:
        raise UsageError('--batch-size must be >= 1, received %d' % args.batch_size)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    images = read_idx_images(args.data)
    n = images.shape[0]
    bs = args.batch_size
    if bs > n:
        raise UsageError('--batch-size %d is larger than the %d images of %s' % (bs, n, args.data))
    table = (np.arange(256, dtype=np.float64) * 2 - 255) / 255
    data = torch.from_numpy(table[images].astype(np.float32))

    g, d = generator(), critic()
    dcgan_init(g)
    dcgan_init(d)
    opt_g = torch.optim.Adam(g.parameters(), lr=1e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), lr=1e-4, betas=(0.5, 0.9))

    def permutation(epoch):
        return np.random.default_rng([args.seed, epoch]).permutation(n)

    state = {'epoch': 0, 'pos': 0, 'perm': permutation(0)}
    first = 1
    if saved is not None:
        order = saved['data_order']
        if order['n'] != n:
            raise UsageError('--data %s has %d images, the resumed run was trained on %d' % (args.data, n, order['n']))
        perm = order['perm'].numpy()
        if not np.array_equal(perm, permutation(order['epoch'])):
            raise UsageError('--data/--seed: the resumed data order (epoch %d) is not this seed\'s permutation of %s'
                             % (order['epoch'], args.data))
        state = {'epoch': order['epoch'], 'pos': order['pos'], 'perm': perm}
        g.load_state_dict(saved['g'])
        d.load_state_dict(saved['d'])
        opt_g.load_state_dict(saved['opt_g'])
        opt_d.load_state_dict(saved['opt_d'])
        torch.set_rng_state(saved['rng'])
        first = saved['step'] + 1

    def next_batch():
        if state['pos'] + bs > n:
            state['epoch'] += 1
            state['pos'] = 0
            state['perm'] = permutation(state['epoch'])
        idx = torch.from_numpy(state['perm'][state['pos']:state['pos'] + bs].astype(np.int64))
        state['pos'] += bs
        return data.index_select(0, idx)

    config = {
        'loss': 'wgan-gp', 'generator': 'deconv', 'dset': 'fashion', 'imgDim': 28, 'iters': args.iters,
        'batchSize': bs, 'criticNorm': 'instance', 'generatorNorm': 'instance', 'noiseDim': 100, 'noiseScale': 1,
        'noiseKind': 'normal', 'baseWidth': 32, 'nCritic': 5, 'clamp': {'lower': -0.01, 'upper': 0.01},
        'optD': 'adam', 'optG': 'adam', 'lrD': 1e-4, 'lrG': 1e-4, 'betas': [0.5, 0.9], 'lambda': 10,
        'device': 'cpu', 'seed': args.seed, 'sampleEvery': 100, 'checkpointEvery': args.checkpoint_every, 'channels': 1,
        'trainedWith': 'PyTorch %s (scripts/parity/pytorch_wgan_gp.py)' % torch.__version__,
    }

    def save_checkpoint(step):
        """ckpt-NNNNNNNN (generator + state.json, torch-gan-loadable), the resume state, then latest.json; each atomic."""
        os.makedirs(root, exist_ok=True)
        name = 'ckpt-%08d' % step
        final = os.path.join(root, name)
        tmp = os.path.join(root, '.%s.tmp-%d' % (name, os.getpid()))
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        save_safetensors(os.path.join(tmp, 'generator.safetensors'), g.state_dict(),
                         {'format': 'pt', 'torch-gan.config': json.dumps(config)})
        write_json_atomic(os.path.join(tmp, 'state.json'), {'step': step, 'config': config, 'format': 1})
        fsync_dir(tmp)
        if os.path.exists(final):
            shutil.rmtree(final)
        os.replace(tmp, final)
        save_torch_atomic(resume_path, {
            'format': 1, 'step': step,
            'recipe': {key: getattr(args, key) for key, _, _ in RECIPE_FLAGS},
            'g': g.state_dict(), 'd': d.state_dict(), 'opt_g': opt_g.state_dict(), 'opt_d': opt_d.state_dict(),
            'rng': torch.get_rng_state(),
            'data_order': {'n': n, 'epoch': state['epoch'], 'pos': state['pos'], 'perm': torch.from_numpy(np.asarray(state['perm']))},
        })
        write_json_atomic(os.path.join(root, 'latest.json'), {'checkpoint': name, 'step': step})
        fsync_dir(root)
        prune_checkpoints(root, name, args.keep_every)
        return final

    os.makedirs(args.out, exist_ok=True)
    losses = os.path.join(args.out, 'losses.jsonl')
    if saved is not None:
        # the rows past the resumed step are redone: drop them (each process counts `seconds` from 0, as torch-gan's train does)
        rows = []
        if os.path.exists(losses):
            with open(losses) as f:
                rows = [l for l in f if l.strip() and json.loads(l)['iter'] <= saved['step']]
        tmp = '%s.tmp-%d' % (losses, os.getpid())
        with open(tmp, 'w') as f:
            f.writelines(rows)
        os.replace(tmp, losses)
        print('resuming from %s (iteration %d) to %d' % (resume_path, saved['step'], args.iters), flush=True)
    log = open(losses, 'a' if saved is not None else 'w')
    t0 = time.time()
    ck = None
    for it in range(first, args.iters + 1):
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
        if it % args.checkpoint_every == 0 or it == args.iters:
            log.flush()
            ck = save_checkpoint(it)
    log.close()
    seconds = time.time() - t0
    done = args.iters - first + 1
    if ck is None:  # resumed at --iters already: nothing to train, the checkpoint is rewritten as it was
        ck = save_checkpoint(args.iters)

    write_json_atomic(os.path.join(args.out, 'config.json'), config, indent=2)
    timing = {'iters': args.iters, 'itersThisProcess': done, 'resumedFrom': first - 1, 'seconds': seconds,
              'itPerSecond': done / seconds if done > 0 and seconds > 0 else None,
              'threads': torch.get_num_threads(), 'torch': torch.__version__}
    write_json_atomic(os.path.join(args.out, 'timing.json'), timing, indent=2)
    print('done: %d iterations in %.1f s (%.2f it/s); generator in %s'
          % (done, seconds, done / seconds if done > 0 and seconds > 0 else 0.0, ck))


if __name__ == '__main__':
    main()
