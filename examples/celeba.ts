// Train a GAN on CelebA (an image folder: --data img_align_celeba):
// the same as `npx torch-gan train --dset celeba`.   npx tsx examples/celeba.ts --help
import { cli } from 'torch-gan';

cli(['train', '--dset', 'celeba', ...process.argv.slice(2)]);
