// Embedding: a lookup table of learned vectors (class embeddings for conditional GANs).
import { invalidParameterError } from '../../errors';
import { Tensor } from '../../tensor/tensor';
import { empty } from '../../tensor/creation';
import { noGrad } from '../../autograd';
import { Module } from '../module';
import { factory, FACTORY_KEYS, FactoryOptions, options, positiveInt } from './util';

/**
 * weight[index] for integer indices of any shape -> [...shape, embeddingDim]
 * (torch.nn.Embedding; weight [numEmbeddings, embeddingDim] ~ N(0, 1) as PyTorch initialises it).
 * The gradient reaches only the rows that were looked up. Reads `this.weight`, so spectralNorm applies.
 */
export class Embedding extends Module {
  static readonly perSample = true;
  readonly numEmbeddings: number;
  readonly embeddingDim: number;

  constructor(numEmbeddings: number, embeddingDim: number, opts?: FactoryOptions) {
    super();
    const o = options('Embedding()', opts, [...FACTORY_KEYS]);
    this.numEmbeddings = positiveInt('numEmbeddings', numEmbeddings);
    this.embeddingDim = positiveInt('embeddingDim', embeddingDim);
    const w = this.registerParameter('weight', empty([numEmbeddings, embeddingDim], factory('Embedding()', o)));
    noGrad(() => w.normal_(0, 1));
  }
  get weight(): Tensor { return this.param('weight'); }

  forward(index: Tensor): Tensor {
    if (!(index instanceof Tensor) || (index.dtype !== 'int64' && index.dtype !== 'int32')) {
      throw invalidParameterError('index', 'an integer (int64) Tensor of indices', index instanceof Tensor ? `a ${index.dtype} tensor` : index);
    }
    const shape = index.shape;
    const flat = index.reshape(-1);
    const rows = this.weight.indexSelect(0, flat);
    const out = rows.reshape([...shape, this.embeddingDim]);
    flat.dispose();
    rows.dispose();
    return out;
  }
  override extraRepr(): string {
    return `${this.numEmbeddings}, ${this.embeddingDim}`;
  }
}
