// Where a run keeps its files. The training code only sees this interface, so the same loop writes
// to a directory in Node and to memory (or browser storage) in a page.
export interface RunStore {
  /** Human-readable location for messages (a directory path, or 'browser memory'). */
  readonly location: string;
  exists(name: string): Promise<boolean>;
  readText(name: string): Promise<string>;
  readBytes(name: string): Promise<Uint8Array>;
  /** Replaces the file atomically: readers see the old or the new content, never a mix. */
  write(name: string, data: string | Uint8Array): Promise<void>;
  list(): Promise<string[]>;
}

/** A store in memory (tests, the browser page). */
export class MemoryStore implements RunStore {
  readonly files = new Map<string, Uint8Array>();
  constructor(readonly location = 'memory') {}
  async exists(name: string): Promise<boolean> {
    return this.files.has(name);
  }
  async readText(name: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(name));
  }
  async readBytes(name: string): Promise<Uint8Array> {
    const data = this.files.get(name);
    if (!data) throw new Error(`${this.location}: no file '${name}'`);
    return data;
  }
  async write(name: string, data: string | Uint8Array): Promise<void> {
    this.files.set(name, typeof data === 'string' ? new TextEncoder().encode(data) : data.slice());
  }
  async list(): Promise<string[]> {
    return [...this.files.keys()].sort();
  }
}
