// MD5 (what the datasets' authors publish) and SHA-256 (what we record) of a file, in one pass.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface FileDigest {
  bytes: number;
  md5: string;
  sha256: string;
}

export async function digestFile(path: string, onProgress?: (done: number) => void): Promise<FileDigest> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    md5.update(chunk);
    sha256.update(chunk);
    bytes += chunk.length;
    onProgress?.(bytes);
  }
  return { bytes, md5: md5.digest('hex'), sha256: sha256.digest('hex') };
}
