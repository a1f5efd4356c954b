// TFRecord framing, the container of TensorBoard's event files: per record a uint64 little-endian
// length, the masked CRC32C of those 8 bytes, the data, the masked CRC32C of the data. The CRCs
// let a reader tell a torn or corrupt record from a good one, so each record stands alone.

// CRC-32C (Castagnoli), reflected polynomial 0x82f63b78: the checksum TFRecord specifies
// (not zlib's CRC-32, whose polynomial differs).
const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C of `data` (crc32c('123456789') = 0xe3069283). */
export function crc32c(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * TFRecord's masked CRC: rotated right by 15 bits plus a constant, because a CRC of data that
 * itself holds CRCs is weak (the reader's masked_crc32c).
 */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One record framed for a TFRecord file: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
