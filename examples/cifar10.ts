// Train a GAN on CIFAR-10 (the binary batches: --data cifar-10-batches-bin):
// the same as `npx torch-gan train --dset cifar10`.   npx tsx examples/cifar10.ts --help
import { cli } from 'torch-gan';

cli(['train', '--dset', 'cifar10', ...process.argv.slice(2)]);
