// MNIST-format IDX training files for tests (train-images-idx3-ubyte, train-labels-idx1-ubyte in
// `dir`): n 28×28 images with pixel k of image i = pixel(i, k) and label(i) (uint8 values).
import * as fs from 'fs';
import * as path from 'path';

export function writeIdxFiles(dir: string, n: number, pixel: (i: number, k: number) => number, label: (i: number) => number = () => 0): string {
  fs.mkdirSync(dir, { recursive: true });
  const im = Buffer.alloc(16 + n * 784);
  im.writeUInt32BE(0x803, 0);
  im.writeUInt32BE(n, 4);
  im.writeUInt32BE(28, 8);
  im.writeUInt32BE(28, 12);
  for (let i = 0; i < n; i++) for (let k = 0; k < 784; k++) im[16 + i * 784 + k] = pixel(i, k) & 255;
  const lb = Buffer.alloc(8 + n);
  lb.writeUInt32BE(0x801, 0);
  lb.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) lb[8 + i] = label(i);
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), im);
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), lb);
  return dir;
}
