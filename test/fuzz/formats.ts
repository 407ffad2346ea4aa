// The fuzzed formats: a valid base of each (test/fixtures builds them), the mutations applied to it,
// the loader a user's command calls, and the oracle. A case passes when the loader either returns
// valid data equal to what the reference reader finds in the mutated file, or throws an Error that
// names the file or its folder (not a TypeError or other slip), leaving no partial output behind.
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint } from '../../experiments/checkpoint.js';
import { instantiate, readCheckpoint } from '../../experiments/cli/common.js';
import { CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES, loadCifar10 } from '../../experiments/data/cifar10.js';
import { loadCifar10C, loadTinyImageNetC } from '../../experiments/data/corrupted.js';
import { readRange, type ImageDataset } from '../../experiments/data/dataset.js';
import { loadTinyImageNet } from '../../experiments/data/tinyimagenet.js';
import { openNpy, readNpyFile } from '../../experiments/io/npy-node.js';
import { encodeNpy } from '../../experiments/io/npy.js';
import { createModel } from '../../experiments/models.js';
import { writeCifar10CFixture, writeTinyImageNetCFixture } from '../fixtures/corrupted.js';
import { writeCifar10Fixture, writeTinyImageNetFixture } from '../fixtures/datasets.js';
import { append, editText, jpegMutations, randomFlips, randomTruncations, replaceWith, setBytes, truncate, type Mutation } from './mutations.js';
import { referenceCifar, referenceNpy, referenceSafetensors } from './reference.js';

export type Outcome = { kind: 'loaded' } | { kind: 'rejected'; message: string } | { kind: 'failed'; reason: string };

export interface FuzzCase {
  format: string;
  name: string;
  /** The file the mutation applies to, relative to the case folder (a copy of the base). */
  target: string;
  mutation: Mutation;
  /** Loads the case folder; returns the oracle's verdict on a successful load (null: passed). */
  load(dir: string): Promise<string | null>;
  /** Checked after a refusal: partial output left behind (null: none). */
  leftovers?(dir: string): string | null;
}

export interface Format {
  name: string;
  /** Writes the valid base into `dir`. */
  base(dir: string): Promise<void> | void;
  cases(baseDir: string, rng: () => number): FuzzCase[];
}

const bytesEqual = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);
const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

async function readAll(ds: ImageDataset): Promise<{ images: Uint8Array; labels: Int32Array }> {
  try {
    return await readRange(ds);
  } finally {
    await ds.close?.();
  }
}

/** Runs one case in `dir` (already holding the mutated copy). */
export async function runCase(c: FuzzCase, dir: string): Promise<Outcome> {
  let verdict: string | null;
  try {
    verdict = await c.load(dir);
  } catch (e) {
    if (!(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError || e.name === 'SyntaxError') return { kind: 'failed', reason: `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}` };
    if (!e.message.includes(dir)) return { kind: 'failed', reason: `the error does not name the file or its folder: ${e.message}` };
    const left = c.leftovers?.(dir);
    if (left) return { kind: 'failed', reason: `refused (${e.message.split('\n')[0]}) but left ${left}` };
    return { kind: 'rejected', message: e.message.split('\n')[0] };
  }
  if (verdict) return { kind: 'failed', reason: verdict };
  if (c.mutation.expect === 'reject') return { kind: 'failed', reason: 'accepted a file it must refuse' };
  return { kind: 'loaded' };
}

/** Copies the base into `dir` and applies the case's mutation. */
export function prepareCase(c: FuzzCase, baseDir: string, dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  cpSync(baseDir, dir, { recursive: true });
  const path = join(dir, c.target);
  writeFileSync(path, c.mutation.apply(new Uint8Array(readFileSync(path))));
}

// ---------------------------------------------------------------------------------------------

const CIFAR_FILES = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];

export const cifar10: Format = {
  name: 'CIFAR-10 .bin',
  base: (dir) => void writeCifar10Fixture(dir),
  cases(baseDir, rng) {
    const out: FuzzCase[] = [];
    for (const target of ['data_batch_3.bin', CIFAR10_TEST_FILE]) {
      const length = readFileSync(join(baseDir, target)).length;
      const records = length / 3073;
      const mutations: Mutation[] = [
        truncate(0, 'reject'), truncate(1, 'reject'), truncate(3072, 'reject'), truncate(3073), truncate(3074, 'reject'), truncate(length - 1, 'reject'),
        ...Array.from({ length: records - 1 }, (_, r) => truncate((r + 1) * 3073)),
        ...randomTruncations(length, 4, rng),
        ...randomFlips(0, length, 8, rng),
        ...[0, records - 1].flatMap((r) => [setBytes(r * 3073, [10], `label 10 in record ${r}`, 'reject'), setBytes(r * 3073, [255], `label 255 in record ${r}`, 'reject'), setBytes(r * 3073, [9], `label 9 in record ${r}`)]),
        append([3], 'append one byte', 'reject'),
        append(Uint8Array.from({ length: 3073 }, (_, i) => (i === 0 ? 9 : i & 255)), 'append a whole record'),
      ];
      for (const mutation of mutations) {
        out.push({
          format: this.name, name: `${target}: ${mutation.name}`, target, mutation,
          async load(dir) {
            const { train, test } = loadCifar10(dir, { recordsPerFile: 'any' });
            const refs = CIFAR_FILES.map((f) => referenceCifar(new Uint8Array(readFileSync(join(dir, f)))));
            if (refs.some((r) => !r)) return 'accepted a file the reference reader refuses';
            const [got, gotTest] = [await readAll(train), await readAll(test)];
            const trainRefs = refs.slice(0, 5) as NonNullable<(typeof refs)[number]>[];
            const images = new Uint8Array(trainRefs.reduce((s, r) => s + r.images.length, 0));
            let o = 0;
            for (const r of trainRefs) {
              images.set(r.images, o);
              o += r.images.length;
            }
            if (!bytesEqual(got.images, images) || !bytesEqual(got.labels, trainRefs.flatMap((r) => r.labels))) return 'train split differs from the file';
            if (!bytesEqual(gotTest.images, refs[5]!.images) || !bytesEqual(gotTest.labels, refs[5]!.labels)) return 'test split differs from the file';
            return null;
          },
        });
      }
    }
    return out;
  },
};

// ---------------------------------------------------------------------------------------------

function npyMutations(file: Uint8Array, rng: () => number, headerEdits: [string, string, 'reject'?][]): Mutation[] {
  const dataOffset = referenceNpy(file)!.dataOffset;
  return [
    truncate(0, 'reject'), truncate(6, 'reject'), truncate(9, 'reject'), truncate(dataOffset - 1, 'reject'), truncate(dataOffset), truncate(file.length - 1, 'reject'),
    ...randomTruncations(file.length, 3, rng),
    ...randomFlips(0, dataOffset, 10, rng),
    ...randomFlips(dataOffset, file.length, 4, rng),
    setBytes(0, [0x94], 'magic byte changed', 'reject'),
    setBytes(6, [2], 'version 2.0 with a 1.0 length field', 'reject'),
    setBytes(6, [4], 'version 4.0', 'reject'),
    setBytes(8, [(dataOffset - 10 + 16) & 255, (dataOffset - 10 + 16) >> 8], 'header length +16', 'reject'),
    setBytes(8, [0xff, 0xff], 'header length 65535', 'reject'),
    append([0, 0, 0, 0], 'trailing bytes (numpy.load ignores them)'),
    ...headerEdits.map(([from, to, expect]) => editText(from, to, expect)),
  ];
}

export const cifar10C: Format = {
  name: 'CIFAR-10-C .npy',
  base: (dir) => void writeCifar10CFixture(dir, ['fog'], 4),
  cases(baseDir, rng) {
    const out: FuzzCase[] = [];
    const images = new Uint8Array(readFileSync(join(baseDir, 'fog.npy')));
    const labels = new Uint8Array(readFileSync(join(baseDir, 'labels.npy')));
    const targets: [string, Mutation[]][] = [
      ['fog.npy', npyMutations(images, rng, [["'|u1'", "'<f4'", 'reject'], ["'|u1'", "'>u1'", 'reject'], ["'|u1'", "'|b1'", 'reject'], ['False', 'True', 'reject'], ['(20,', '(25,', 'reject'], ['(20,', '(10,', 'reject'], ['(20,', '(-20,', 'reject'], ['32, 32, 3)', '32, 32)', 'reject'], ['32, 32, 3)', '32, 32, 4)', 'reject'], ['(20,', '(200000000000000000000,', 'reject'], ["'shape'", "'shap'", 'reject'], ['}', '', 'reject']])],
      ['labels.npy', npyMutations(labels, rng, [["'|u1'", "'<i8'", 'reject'], ["'|u1'", "'<f4'", 'reject'], ['(20,)', '(19,)', 'reject'], ['(20,)', '(20, 1)', 'reject'], ['(20,)', '()', 'reject']])],
      ['labels.npy', [setBytes(referenceNpy(labels)!.dataOffset + 3, [250], 'label 250'), setBytes(referenceNpy(labels)!.dataOffset, [0], 'label 0')]],
    ];
    for (const [target, mutations] of targets) {
      for (const mutation of mutations) {
        out.push({
          format: this.name, name: `${target}: ${mutation.name}`, target, mutation,
          async load(dir) {
            const loaded = [];
            for (let s = 1; s <= 5; s++) loaded.push(await readAll(await loadCifar10C(dir, 'fog', s)));
            const ri = referenceNpy(new Uint8Array(readFileSync(join(dir, 'fog.npy'))));
            const rl = referenceNpy(new Uint8Array(readFileSync(join(dir, 'labels.npy'))));
            if (!ri || !rl || ri.descr !== '|u1' || ri.shape.length !== 4 || ri.shape[3] !== 3 || rl.shape.length !== 1 || rl.shape[0] !== ri.shape[0]) return 'accepted files the reference reader refuses';
            const rows = ri.shape[0] / 5;
            const rowBytes = ri.shape[1] * ri.shape[2] * 3;
            const labelValues = rl.descr === '|u1' ? Array.from(rl.payload) : null;
            if (!labelValues) return `accepted labels of dtype ${rl.descr}, which the fixture never writes`;
            for (let s = 0; s < 5; s++) {
              if (!bytesEqual(loaded[s].images, ri.payload.subarray(s * rows * rowBytes, (s + 1) * rows * rowBytes))) return `severity ${s + 1}: images differ from the file`;
              if (!bytesEqual(loaded[s].labels, labelValues.slice(s * rows, (s + 1) * rows))) return `severity ${s + 1}: labels differ from the file`;
            }
            return null;
          },
        });
      }
    }
    return out;
  },
};

// ---------------------------------------------------------------------------------------------

const FLOATS = Float32Array.from({ length: 30 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));

export const floatNpy: Format = {
  name: 'float .npy',
  base: (dir) => writeFileSync(join(dir, 'x.npy'), encodeNpy(FLOATS, [6, 5])),
  cases(baseDir, rng) {
    const file = new Uint8Array(readFileSync(join(baseDir, 'x.npy')));
    const at = referenceNpy(file)!.dataOffset;
    const special = (k: number, bits: number, what: string) => setBytes(at + 4 * k, [bits & 255, (bits >>> 8) & 255, (bits >>> 16) & 255, bits >>> 24], `${what} at element ${k}`);
    const mutations = [
      ...npyMutations(file, rng, [["'<f4'", "'<f8'", 'reject'], ["'<f4'", "'<i4'"], ["'<f4'", "'>f4'", 'reject'], ["'<f4'", "'<f2'", 'reject'], ['(6, 5)', '(5, 6)'], ['(6, 5)', '(30,)'], ['(6, 5)', '(6, 6)', 'reject'], ['False', 'True', 'reject']]),
      special(0, 0x7fc00000, 'NaN'), special(7, 0x7f800000, '+Infinity'), special(29, 0xff800000, '-Infinity'), special(3, 0x00000001, 'a denormal'),
    ];
    return mutations.map((mutation) => ({
      format: this.name, name: `x.npy: ${mutation.name}`, target: 'x.npy', mutation,
      async load(dir) {
        const path = join(dir, 'x.npy');
        const whole = await readNpyFile(path);
        const file = await openNpy(path);
        const rows = await file.readRows(0, file.rows).finally(() => file.close());
        const ref = referenceNpy(new Uint8Array(readFileSync(path)));
        if (!ref) return 'accepted a file the reference reader refuses';
        if (whole.shape.join() !== ref.shape.join()) return `shape ${whole.shape} vs ${ref.shape} in the header`;
        // NaN and infinities are data here: they must come back bit for bit.
        if (!bytesEqual(asBytes(whole.data), ref.payload) || !bytesEqual(asBytes(rows as ArrayBufferView), ref.payload)) return 'values differ from the file';
        return null;
      },
    }));
  },
};

// ---------------------------------------------------------------------------------------------

const POSITION = { epoch: 3, batch: 2, globalStep: 11, generators: {} };

export const checkpoints: Format = {
  name: 'safetensors checkpoint',
  async base(dir) {
    const model = createModel({ model: 'resnet20', dataset: 'mnist', numClasses: 10, shortcut: 'A' });
    writeFileSync(join(dir, 'model.safetensors'), await encodeCheckpoint(model, null, POSITION, { model: 'resnet20', data: 'mnist', numClasses: 10, shortcut: 'A' }));
    model.dispose();
  },
  cases(baseDir, rng) {
    const file = new Uint8Array(readFileSync(join(baseDir, 'model.safetensors')));
    const n = Number(new DataView(file.buffer, file.byteOffset, 8).getBigUint64(0, true));
    const ref = referenceSafetensors(file)!;
    const names = Object.keys(ref.tensors);
    const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
    const f32 = names.filter((k) => ref.tensors[k].dtype === 'F32');
    const pick = () => f32[Math.floor(rng() * f32.length)];
    // A header edit re-serializes the JSON (padded to 8 bytes), keeping the data section.
    const withHeader = (name: string, edit: (h: any) => void, expect?: 'reject'): Mutation => ({
      name, expect,
      apply: (b) => {
        const h = structuredClone(header);
        edit(h);
        let text = JSON.stringify(h);
        text += ' '.repeat((8 - (text.length % 8)) % 8);
        const json = new TextEncoder().encode(text);
        const out = new Uint8Array(8 + json.length + (b.length - 8 - n));
        new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
        out.set(json, 8);
        out.set(b.subarray(8 + n), 8 + json.length);
        return out;
      },
    });
    const at = (name: string) => 8 + n + header[name].data_offsets[0];
    const bits = (name: string, value: number, what: string) => {
      const k = Math.floor(rng() * (ref.tensors[name].bytes.length / 4));
      return setBytes(at(name) + 4 * k, [value & 255, (value >>> 8) & 255, (value >>> 16) & 255, value >>> 24], `${what} in ${name}[${k}]`, 'reject');
    };
    const a = pick();
    const b = pick();
    const mutations: Mutation[] = [
      truncate(0, 'reject'), truncate(7, 'reject'), truncate(8, 'reject'), truncate(8 + n / 2, 'reject'), truncate(8 + n, 'reject'), truncate(at(a) + 2, 'reject'), truncate(file.length - 1, 'reject'),
      ...randomTruncations(file.length, 3, rng).map((m) => ({ ...m, expect: 'reject' as const })),
      setBytes(0, [0, 0, 0, 0, 0, 0, 0, 0], 'header length 0', 'reject'),
      setBytes(0, [(n + 8) & 255, (n + 8) >> 8], 'header length +8', 'reject'),
      setBytes(0, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 'header length 2^64 − 1', 'reject'),
      setBytes(8, [0x5b], 'header starts with [', 'reject'),
      ...randomFlips(8, 8 + n, 10, rng),
      ...randomFlips(8 + n, file.length, 10, rng).map((m) => ({ ...m, expect: 'any' as const })),
      bits(a, 0x7fc00000, 'NaN'), bits(b, 0x7f800000, '+Infinity'), bits(pick(), 0xff800000, '-Infinity'),
      append(new Uint8Array(8), 'append 8 bytes after the data', 'reject'),
      withHeader(`${a}: dtype F16`, (h) => (h[a].dtype = 'F16'), 'reject'),
      withHeader(`${a}: dtype F64`, (h) => (h[a].dtype = 'F64'), 'reject'),
      withHeader(`${a}: dtype I32 (same size)`, (h) => (h[a].dtype = 'I32'), 'reject'),
      withHeader(`${a}: dtype "X"`, (h) => (h[a].dtype = 'X'), 'reject'),
      withHeader(`${a}: first dimension + 1`, (h) => (h[a].shape[0] += 1), 'reject'),
      withHeader(`${a}: shape reversed`, (h) => h[a].shape.reverse()),
      withHeader(`${a}: shape flattened`, (h) => (h[a].shape = [h[a].shape.reduce((x: number, y: number) => x * y, 1)]), 'reject'),
      withHeader(`${a}: shape [-1]`, (h) => (h[a].shape = [-1]), 'reject'),
      withHeader(`${a}: shape [1.5]`, (h) => (h[a].shape = [1.5]), 'reject'),
      withHeader(`${a}: offsets shifted by 4`, (h) => (h[a].data_offsets = h[a].data_offsets.map((o: number) => o + 4)), 'reject'),
      withHeader(`${a}: offsets reversed`, (h) => h[a].data_offsets.reverse(), 'reject'),
      withHeader(`${a} and ${b}: offsets swapped`, (h) => ([h[a].data_offsets, h[b].data_offsets] = [h[b].data_offsets, h[a].data_offsets])),
      withHeader(`${a}: removed`, (h) => delete h[a], 'reject'),
      withHeader(`${a}: renamed`, (h) => ((h[`${a}.x`] = h[a]), delete h[a]), 'reject'),
      withHeader('an extra empty tensor', (h) => (h.extra = { dtype: 'F32', shape: [0], data_offsets: [0, 0] }), 'reject'),
      withHeader('num_batches_tracked as F64', (h) => (h['bn1.num_batches_tracked'].dtype = 'F64'), 'reject'),
      withHeader('num_batches_tracked as F32 [2]', (h) => ((h['bn1.num_batches_tracked'].dtype = 'F32'), (h['bn1.num_batches_tracked'].shape = [2])), 'reject'),
      withHeader('num_batches_tracked as I64 [1]', (h) => (h['bn1.num_batches_tracked'].shape = [1])),
      withHeader('__metadata__.config not JSON', (h) => (h.__metadata__.config = '{'), 'reject'),
      withHeader('__metadata__.config a number', (h) => (h.__metadata__.config = '5'), 'reject'),
      withHeader('__metadata__.config names another model', (h) => (h.__metadata__.config = JSON.stringify({ model: 'vgg', data: 'mnist' })), 'reject'),
      withHeader('__metadata__.config with 0 classes', (h) => (h.__metadata__.config = JSON.stringify({ model: 'resnet20', data: 'mnist', numClasses: 0 })), 'reject'),
      withHeader('__metadata__.position not JSON', (h) => (h.__metadata__.position = 'x'), 'reject'),
      withHeader('__metadata__.position epoch −1', (h) => (h.__metadata__.position = JSON.stringify({ ...POSITION, epoch: -1 })), 'reject'),
      withHeader('__metadata__.position without generators', (h) => (h.__metadata__.position = JSON.stringify({ epoch: 1, batch: 0, globalStep: 4 })), 'reject'),
      withHeader('__metadata__ value a number', (h) => (h.__metadata__.format = 7), 'reject'),
      withHeader('__metadata__ removed (no model or dataset recorded)', (h) => delete h.__metadata__, 'reject'),
    ];
    return mutations.map((mutation) => ({
      format: this.name, name: `model.safetensors: ${mutation.name}`, target: 'model.safetensors', mutation,
      async load(dir) {
        const path = join(dir, 'model.safetensors');
        const loaded = await instantiate(await readCheckpoint(path, {}));
        try {
          const r = referenceSafetensors(new Uint8Array(readFileSync(path)));
          if (!r) return 'accepted a file the reference reader refuses';
          const state = await loaded.model.exportState();
          for (const [name, t] of Object.entries(state)) {
            if (t.dtype !== 'F32') continue;
            const data = t.data as Float32Array;
            if (data.some((v) => !Number.isFinite(v))) return `loaded non-finite values into ${name}`;
            if (!r.tensors[name] || !bytesEqual(asBytes(data), r.tensors[name].bytes)) return `${name} differs from the file`;
          }
          const position = decodeCheckpoint(new Uint8Array(readFileSync(path)), path).position;
          if (JSON.stringify(position) !== (r.metadata.position ?? 'null')) return 'the training position differs from the file';
          return null;
        } finally {
          loaded.model.dispose();
        }
      },
    }));
  },
};

// ---------------------------------------------------------------------------------------------

const FUZZ_CACHE = '.fuzz-cache';

function cacheLeftovers(dir: string, failedSplitManifest: string | null): string | null {
  const cache = join(dir, FUZZ_CACHE);
  if (!existsSync(cache)) return null;
  const files = readdirSync(cache);
  const temps = files.filter((f) => f.includes('.tmp-') || f.startsWith('.write-test'));
  if (temps.length) return `temporary files ${temps.join(', ')}`;
  if (failedSplitManifest && files.includes(failedSplitManifest)) return `a manifest ${failedSplitManifest} for a split that failed`;
  return null;
}

export function tinyImageNet(decoded: () => { train: Uint8Array[]; val: Uint8Array[] }): Format {
  return {
    name: 'Tiny ImageNet JPEG tree',
    base: (dir) => void writeTinyImageNetFixture(dir),
    cases(baseDir, rng) {
      const targets = ['train/n01443537/images/n01443537_0.JPEG', 'train/n01629819/images/n01629819_1.JPEG', 'val/images/val_1.JPEG'];
      const out: FuzzCase[] = [];
      const expectSame = async (dir: string, mutated: string | null) => {
        const { train, val } = await loadTinyImageNet(dir, { cacheDir: join(dir, FUZZ_CACHE) });
        const base = decoded();
        for (const [split, ds, files] of [['train', train, base.train], ['val', val, base.val]] as const) {
          const got = await readAll(ds);
          if (got.labels.join() !== (split === 'train' ? '0,0,1,1,2,2' : '2,0,1')) return `${split} labels ${got.labels.join()}`;
          const order = split === 'train' ? ['n01443537_0', 'n01443537_1', 'n01629819_0', 'n01629819_1', 'n01641577_0', 'n01641577_1'] : ['val_0', 'val_1', 'val_2'];
          for (let i = 0; i < files.length; i++) {
            if (mutated?.includes(order[i])) continue; // any decoding of a damaged file will do
            if (!bytesEqual(got.images.subarray(i * 12288, (i + 1) * 12288), files[i])) return `${split} image ${i} differs from its clean decoding`;
          }
        }
        if (!existsSync(join(dir, FUZZ_CACHE, 'train.json')) || !existsSync(join(dir, FUZZ_CACHE, 'val.json'))) return 'loaded without writing cache manifests';
        return null;
      };
      for (const target of targets) {
        const file = new Uint8Array(readFileSync(join(baseDir, target)));
        const split = target.startsWith('train') ? 'train.json' : 'val.json';
        for (const mutation of jpegMutations(file, rng)) {
          out.push({ format: this.name, name: `${target}: ${mutation.name}`, target, mutation, load: (dir) => expectSame(dir, target), leftovers: (dir) => cacheLeftovers(dir, split) });
        }
      }
      const text = (target: string, edit: Mutation) => out.push({ format: this.name, name: `${target}: ${edit.name}`, target, mutation: edit, load: (dir) => expectSame(dir, null), leftovers: (dir) => cacheLeftovers(dir, null) });
      text('wnids.txt', editText('n01629819', 'n01443537', 'reject'));
      text('wnids.txt', replaceWith(new Uint8Array(0), 'empty wnids.txt'));
      text('wnids.txt', editText('\n', '\r\n'));
      text('wnids.txt', append(Uint8Array.from('n09999999\n', (c) => c.charCodeAt(0)), 'a wnid without a train folder', 'reject'));
      text('val/val_annotations.txt', editText('n01641577', 'n09999999', 'reject'));
      text('val/val_annotations.txt', editText('val_1.JPEG', 'val_9.JPEG', 'reject'));
      text('val/val_annotations.txt', editText('val_2.JPEG\t', 'val_0.JPEG\t', 'reject'));
      text('val/val_annotations.txt', editText('\t', ' ', 'reject'));
      text('val/val_annotations.txt', replaceWith(new Uint8Array(0), 'empty annotations', 'reject'));
      text('words.txt', replaceWith(randomBytes(64, rng), 'garbled words.txt', 'any'));
      return out;
    },
  };
}

function randomBytes(n: number, rng: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
}

export function tinyImageNetC(decoded: () => Uint8Array[]): Format {
  return {
    name: 'Tiny-ImageNet-C tree',
    base: (dir) => void writeTinyImageNetCFixture(dir, 'fog', [2]),
    cases(baseDir, rng) {
      const load = async (dir: string, mutated: string | null) => {
        const ds = await loadTinyImageNetC(dir, 'fog', 2, { wnidsFile: join(dir, 'wnids-fog.txt'), cacheDir: join(dir, FUZZ_CACHE) });
        const got = await readAll(ds);
        if (got.labels.join() !== '0,0,1,2,2') return `labels ${got.labels.join()}`;
        const files = ['n01641577_0', 'n01641577_1', 'n01443537_0', 'n01629819_0', 'n01629819_1'];
        for (let i = 0; i < files.length; i++) {
          if (mutated?.includes(files[i])) continue;
          if (!bytesEqual(got.images.subarray(i * 12288, (i + 1) * 12288), decoded()[i])) return `image ${i} differs from its clean decoding`;
        }
        return null;
      };
      const out: FuzzCase[] = [];
      for (const target of ['fog/2/n01641577/n01641577_0.JPEG', 'fog/2/n01629819/n01629819_1.JPEG']) {
        const file = new Uint8Array(readFileSync(join(baseDir, target)));
        for (const mutation of jpegMutations(file, rng)) out.push({ format: this.name, name: `${target}: ${mutation.name}`, target, mutation, load: (dir) => load(dir, target), leftovers: (dir) => cacheLeftovers(dir, 'fog-2.json') });
      }
      for (const mutation of [editText('n01443537', 'n01641577', 'reject'), editText('n01443537', 'n01443538', 'reject'), replaceWith(new Uint8Array(0), 'empty wnids file', 'reject')]) {
        out.push({ format: this.name, name: `wnids-fog.txt: ${mutation.name}`, target: 'wnids-fog.txt', mutation, load: (dir) => load(dir, null), leftovers: (dir) => cacheLeftovers(dir, 'fog-2.json') });
      }
      return out;
    },
  };
}
