// Checks that an extracted dataset folder has the published layout: the files the loaders read, in
// the published counts. Used after extraction (before the folder is moved into place) and to
// recognise a dataset that is already there. Counts are parameters so tests can use small sets.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_RECORD_BYTES, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES } from '../data/cifar10.js';
import { openNpy } from '../io/npy-node.js';
import { formatShape } from '../io/npy.js';

export type Layout =
  /** data_batch_1..5.bin and test_batch.bin of `records` records each. */
  | { kind: 'cifar10'; records: number }
  /** <corruption>.npy uint8 (5·perSeverity, 32, 32, 3) for each corruption, and labels.npy (5·perSeverity,). */
  | { kind: 'cifar10-c'; corruptions: readonly string[]; perSeverity: number }
  /** wnids.txt, words.txt, train/<wnid>/images/*.JPEG, val/images + val_annotations.txt, test/images. */
  | { kind: 'tinyimagenet'; classes: number; trainPerClass: number; val: number; test: number }
  /** <corruption>/<1..5>/<wnid>/*.JPEG with `perSeverity` images over `classes` wnid folders. */
  | { kind: 'tinyimagenet-c'; corruptions: readonly string[]; classes: number; perSeverity: number };

const JPEG = /\.jpe?g$/i;

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();
const list = (path: string) => (isDir(path) ? readdirSync(path) : []);
const count = (n: number, what: string) => `${n.toLocaleString('en-US')} ${what}`;

/** Problems found in `dir` (empty when the layout is complete). Stops after a few. */
export async function layoutProblems(dir: string, layout: Layout): Promise<string[]> {
  if (!isDir(dir)) return [`${dir} is not a folder`];
  const problems: string[] = [];
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem);
    return ok;
  };
  switch (layout.kind) {
    case 'cifar10':
      for (const name of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE]) {
        const path = join(dir, name);
        if (check(existsSync(path), `missing ${name}`)) {
          const size = statSync(path).size;
          check(size === layout.records * CIFAR10_RECORD_BYTES, `${name} has ${size} bytes, expected ${count(layout.records, 'records')} of ${CIFAR10_RECORD_BYTES} bytes`);
        }
      }
      break;
    case 'cifar10-c': {
      const rows = 5 * layout.perSeverity;
      for (const name of [...layout.corruptions.map((c) => `${c}.npy`), 'labels.npy']) {
        const path = join(dir, name);
        if (!check(existsSync(path), `missing ${name}`)) continue;
        try {
          const file = await openNpy(path);
          await file.close();
          const expected = name === 'labels.npy' ? [rows] : [rows, 32, 32, 3];
          check(file.dtype === 'uint8' && formatShape(file.shape) === formatShape(expected), `${name} is ${file.dtype} ${formatShape(file.shape)}, expected uint8 ${formatShape(expected)}`);
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      break;
    }
    case 'tinyimagenet': {
      const wnidsPath = join(dir, 'wnids.txt');
      check(existsSync(join(dir, 'words.txt')), 'missing words.txt');
      if (!check(existsSync(wnidsPath), 'missing wnids.txt')) break;
      const wnids = readFileSync(wnidsPath, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
      check(wnids.length === layout.classes, `wnids.txt lists ${wnids.length} classes, expected ${layout.classes}`);
      for (const wnid of wnids) {
        const images = list(join(dir, 'train', wnid, 'images')).filter((f) => JPEG.test(f)).length;
        if (!check(images === layout.trainPerClass, `train/${wnid}/images holds ${count(images, 'JPEGs')}, expected ${layout.trainPerClass}`)) break;
      }
      const val = list(join(dir, 'val', 'images')).filter((f) => JPEG.test(f)).length;
      check(val === layout.val, `val/images holds ${count(val, 'JPEGs')}, expected ${layout.val}`);
      const annotations = join(dir, 'val', 'val_annotations.txt');
      if (check(existsSync(annotations), 'missing val/val_annotations.txt')) {
        const lines = readFileSync(annotations, 'utf8').split(/\r?\n/).filter((l) => l.trim()).length;
        check(lines === layout.val, `val/val_annotations.txt has ${lines} lines, expected ${layout.val}`);
      }
      const test = list(join(dir, 'test', 'images')).filter((f) => JPEG.test(f)).length;
      check(test === layout.test, `test/images holds ${count(test, 'JPEGs')}, expected ${layout.test}`);
      break;
    }
    case 'tinyimagenet-c':
      for (const corruption of layout.corruptions) {
        if (!check(isDir(join(dir, corruption)), `missing ${corruption}/`)) continue;
        for (let severity = 1; severity <= 5; severity++) {
          const sdir = join(dir, corruption, String(severity));
          if (!check(isDir(sdir), `missing ${corruption}/${severity}/`)) continue;
          const classes = list(sdir).filter((w) => isDir(join(sdir, w)));
          const images = classes.reduce((n, w) => n + list(join(sdir, w)).filter((f) => JPEG.test(f)).length, 0);
          check(classes.length === layout.classes && images === layout.perSeverity, `${corruption}/${severity}/ holds ${count(images, 'JPEGs')} in ${count(classes.length, 'class folders')}, expected ${count(layout.perSeverity, 'JPEGs')} in ${layout.classes}`);
        }
        if (problems.length >= 5) break;
      }
      break;
  }
  return problems.slice(0, 5);
}
