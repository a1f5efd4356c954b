// The torch-gan side of the benchmarks: one iteration of WGAN-GP, DRAGAN and a plain
// DCGAN on the textbook's 28x28 networks, written with torch-gan's public API as a
// user would write it. bench/pytorch_bench.py and bench/cpp/bench.cpp do exactly the
// same work (same shapes, same order of random draws: with the same seed the three
// even report the same losses).
//
//   generator  make_generator_network_wgan(z=100, n_filters=32): ConvTranspose2d x4
//              (1 -> 4 -> 7 -> 14 -> 28), InstanceNorm2d, LeakyReLU(0.2), Tanh
//   critic     DiscriminatorWGAN(n_filters=32) without the final Sigmoid: Conv2d x4
//              (28 -> 14 -> 7 -> 4 -> 1), InstanceNorm2d, LeakyReLU(0.2); output [N, 1]
//   dcgan      the same networks with BatchNorm2d (make_generator_network / Discriminator)
//
// wgan-gp: 5 critic steps (real batch, fake = G(z).detach(), E[D(fake)] - E[D(real)] +
//          10·E[(‖∇D(x̂)‖₂ − 1)²] at x̂ = εx + (1−ε)fake, backward, Adam step), then one
//          generator step (−E[D(G(z))]); Adam(1e-4, betas [0.5, 0.9]) for both.
// dragan:  one critic step (BCE-with-logits real/fake + DRAGAN penalty), one generator
//          step (non-saturating BCE); Adam(2e-4, betas [0.5, 0.999]).
// dcgan:   as dragan without the penalty, BatchNorm2d networks.
import { gan, loadFashionMnist, nn, optim, tensor, Tensor } from '../lib';
import type { MemoryFormat } from '../lib';

export const WORKLOADS = ['wgan-gp', 'dragan', 'dcgan'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const BATCH = 64;
export const Z = 100;
export const N_FILTERS = 32;

type Norm = 'instance' | 'batch';
const normLayer = (kind: Norm, c: number) => (kind === 'instance' ? new nn.InstanceNorm2d(c) : new nn.BatchNorm2d(c));

/** make_generator_network_wgan (InstanceNorm2d) or make_generator_network (BatchNorm2d). */
export function makeGenerator(inputSize: number, nFilters: number, norm: Norm = 'instance'): nn.Sequential {
  return new nn.Sequential(
    new nn.ConvTranspose2d(inputSize, nFilters * 4, 4, { stride: 1, padding: 0, bias: false }),
    normLayer(norm, nFilters * 4),
    new nn.LeakyReLU(0.2),
    new nn.ConvTranspose2d(nFilters * 4, nFilters * 2, 3, { stride: 2, padding: 1, bias: false }),
    normLayer(norm, nFilters * 2),
    new nn.LeakyReLU(0.2),
    new nn.ConvTranspose2d(nFilters * 2, nFilters, 4, { stride: 2, padding: 1, bias: false }),
    normLayer(norm, nFilters),
    new nn.LeakyReLU(0.2),
    new nn.ConvTranspose2d(nFilters, 1, 4, { stride: 2, padding: 1, bias: false }),
    new nn.Tanh(),
  );
}

/** DiscriminatorWGAN (or Discriminator with BatchNorm2d) without the final Sigmoid. */
export class Critic extends nn.Module {
  // each score depends on its own image alone (with instance norm), so the engine may score real
  // and fake in one forward (GanTrainer batchCriticForward 'auto'; nn/per-sample.ts)
  static readonly perSample = true;
  constructor(nFilters: number, norm: Norm = 'instance') {
    super();
    this.registerModule(
      'network',
      new nn.Sequential(
        new nn.Conv2d(1, nFilters, 4, { stride: 2, padding: 1, bias: false }),
        new nn.LeakyReLU(0.2),
        new nn.Conv2d(nFilters, nFilters * 2, 4, { stride: 2, padding: 1, bias: false }),
        normLayer(norm, nFilters * 2),
        new nn.LeakyReLU(0.2),
        new nn.Conv2d(nFilters * 2, nFilters * 4, 3, { stride: 2, padding: 1, bias: false }),
        normLayer(norm, nFilters * 4),
        new nn.LeakyReLU(0.2),
        new nn.Conv2d(nFilters * 4, 1, 4, { stride: 1, padding: 0, bias: false }),
      ),
    );
  }
  get network(): nn.Sequential {
    return this.child('network') as nn.Sequential;
  }
  forward(x: Tensor): Tensor {
    return this.network.forward(x).view(-1, 1);
  }
}

/** Fashion-MNIST as one uint8 tensor [n, 1, 28, 28]; batches are sequential slices scaled to [-1, 1]. */
export class Batches {
  private readonly images: Tensor;
  private cursor = 0;
  constructor(opts: { dir?: string; limit?: number } = {}) {
    const ds = loadFashionMnist({ dir: opts.dir, limit: opts.limit ?? 10000 });
    this.images = tensor(ds.images, [ds.n, 1, ds.rows, ds.cols]).keep();
  }
  /** The next batch in [-1, 1] (a new tensor; free it, or make it inside tidy). */
  next(): Tensor {
    if (this.cursor + BATCH > this.images.shape[0]) this.cursor = 0;
    const x = this.images.narrow(0, this.cursor, BATCH).float().div(127.5).sub(1);
    this.cursor += BATCH;
    return x;
  }
}

export interface Losses {
  d: number;
  g: number;
}

/**
 * One workload as torch-gan's engine runs it (GanTrainer: what `torch-gan train` and TrainingRun
 * use), with the networks above. It draws its random numbers in the order the hand-written loops
 * of bench/pytorch_bench.py and bench/cpp do, so the same seed gives the same losses.
 * batched: the engine's one critic forward over real and fake (batchCriticForward 'auto': on for the
 * instance-norm critics, off for dcgan's batch norm, where it would change the numbers).
 */
export class Workload {
  readonly G: nn.Sequential;
  readonly D: Critic;
  readonly optG: optim.Adam;
  readonly optD: optim.Adam;
  readonly trainer: gan.GanTrainer;

  // memoryFormat: both networks' layout; by default the one `torch-gan train` gives them
  // (gan.runMemoryFormat: channels-last on the CPU with libtorch 2.x; TORCH_GAN_CHANNELS_LAST=0 for NCHW)
  constructor(readonly name: WorkloadName, private readonly data: Batches, batched = true, precision: 'fp32' | 'bf16' = 'fp32', memoryFormat: MemoryFormat = gan.runMemoryFormat('cpu')) {
    const norm: Norm = name === 'dcgan' ? 'batch' : 'instance';
    this.G = makeGenerator(Z, N_FILTERS, norm).toMemoryFormat(memoryFormat);
    this.D = new Critic(N_FILTERS, norm).toMemoryFormat(memoryFormat);
    const hyper: optim.AdamOptions = name === 'wgan-gp' ? { lr: 1e-4, betas: [0.5, 0.9] } : { lr: 2e-4, betas: [0.5, 0.999] };
    this.optG = new optim.Adam(this.G.parameters(), hyper);
    this.optD = new optim.Adam(this.D.parameters(), hyper);
    this.trainer = new gan.GanTrainer({
      generator: this.G, critic: this.D, optG: this.optG, optD: this.optD,
      loss: name === 'wgan-gp' ? 'wgan-gp' : name === 'dragan' ? 'dragan' : 'gan',
      nCritic: name === 'wgan-gp' ? 5 : 1, batches: () => data.next(), noise: { shape: [Z, 1, 1] },
      ...(name === 'dcgan' ? {} : { lambda: 10 }),
      batchCriticForward: batched ? 'auto' : false, precision,
    });
  }

  /** One iteration; returns the last critic loss and the generator loss. */
  iteration(): Losses {
    let d = NaN;
    for (let k = 0; k < this.trainer.nCritic; k++) d = this.trainer.criticStep().criticLoss;
    const g = this.trainer.generatorStep();
    this.trainer.iteration++;
    return { d, g };
  }
}
