// A data set's fingerprint: enough to tell, on resume, that the data is the data the
// checkpoint was trained on (same name, count, image shape and content), cheaply: a SHA-256
// of the shape and of up to 16 whole images spread evenly over the set (the first and the
// last among them), not of every byte.
import * as crypto from 'crypto';
import type { ImageDataset } from './types';

export interface DataFingerprint {
  /** the data set's name as the run knows it (mnist, fashion, cifar10, celeba) */
  name: string;
  n: number;
  /** [channels, height, width] */
  shape: [number, number, number];
  /** hex SHA-256 of the shape and the sampled images */
  sha256: string;
}

const SAMPLES = 16;

export function datasetFingerprint(ds: ImageDataset, name: string): DataFingerprint {
  const per = ds.channels * ds.height * ds.width;
  const h = crypto.createHash('sha256');
  h.update(`${name} ${ds.n} ${ds.channels}x${ds.height}x${ds.width}\n`);
  const k = Math.min(SAMPLES, ds.n);
  for (let j = 0; j < k; j++) {
    const i = k === 1 ? 0 : Math.round((j * (ds.n - 1)) / (k - 1));
    h.update(ds.images.subarray(i * per, (i + 1) * per));
  }
  return { name, n: ds.n, shape: [ds.channels, ds.height, ds.width], sha256: h.digest('hex') };
}

/** How two fingerprints differ, in words ('' when they agree). */
export function fingerprintDifference(saved: DataFingerprint, now: DataFingerprint): string {
  if (saved.name !== now.name) return `data set ${saved.name} in the checkpoint, ${now.name} now`;
  if (saved.n !== now.n) return `${saved.n} images in the checkpoint, ${now.n} now`;
  if (saved.shape.join('x') !== now.shape.join('x')) return `${saved.shape.join('x')} images in the checkpoint, ${now.shape.join('x')} now`;
  if (saved.sha256 !== now.sha256) return `the same count and size but other images (sha256 of samples ${saved.sha256.slice(0, 12)}… in the checkpoint, ${now.sha256.slice(0, 12)}… now)`;
  return '';
}
