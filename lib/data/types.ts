// The in-memory form every dataset source returns.

/** A whole image dataset as bytes: images are N x C x H x W (planar channels), 0..255. */
export interface ImageDataset {
  /** n * channels * height * width bytes, NCHW. */
  images: Uint8Array;
  /** One class index per image, when the dataset has labels. */
  labels?: Uint8Array;
  n: number;
  channels: number;
  height: number;
  width: number;
  /** Human-readable description of where the data came from. */
  source: string;
  /** Class names, indexed by label, when known. */
  classes?: string[];
}
