// A run store backed by a directory; every write is atomic (temp file, fsync, rename).
import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import type { RunStore } from './store.js';

export class DirectoryStore implements RunStore {
  constructor(readonly location: string) {}
  async exists(name: string): Promise<boolean> {
    return existsSync(join(this.location, name));
  }
  async readText(name: string): Promise<string> {
    return readFile(join(this.location, name), 'utf8');
  }
  async readBytes(name: string): Promise<Uint8Array> {
    return new Uint8Array(await readFile(join(this.location, name)));
  }
  async write(name: string, data: string | Uint8Array): Promise<void> {
    await writeFileAtomic(join(this.location, name), data);
  }
  async list(): Promise<string[]> {
    return existsSync(this.location) ? (await readdir(this.location)).filter((f) => !f.includes('.tmp-')).sort() : [];
  }
}
