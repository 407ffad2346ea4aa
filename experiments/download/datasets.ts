// The published archives `cli download` fetches: where each comes from, its published size and MD5,
// its format, the folder it unpacks to and that folder's layout (checked before it is moved into
// place). Tiny-ImageNet-C has no published checksum, so its layout check is what verifies it; the
// SHA-256 of the archive is recorded beside it.
import { BENCHMARK_CORRUPTIONS, CORRUPTION_NAMES } from '../corruptions/types.js';
import type { Layout } from './layouts.js';

export const DOWNLOAD_NAMES = ['cifar10', 'cifar10-c', 'tinyimagenet', 'tinyimagenet-c'] as const;
export type DownloadName = (typeof DOWNLOAD_NAMES)[number];

export interface PublishedArchive {
  name: DownloadName;
  title: string;
  url: string;
  /** File name of the archive (also the name of the download in progress, plus `.part`). */
  archive: string;
  format: 'tar' | 'tar.gz' | 'zip';
  bytes?: number;
  md5?: string;
  /** The folder the archive unpacks to. */
  folder: string;
  layout: Layout;
  /** How the other commands take the folder, for the closing message. */
  usage: string;
}

export const PUBLISHED: Record<DownloadName, PublishedArchive> = {
  cifar10: {
    name: 'cifar10',
    title: 'CIFAR-10 (binary version)',
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    archive: 'cifar-10-binary.tar.gz',
    format: 'tar.gz',
    bytes: 170_052_171,
    md5: 'c32a1d4ab5d03f1284b67883e8d87530',
    folder: 'cifar-10-batches-bin',
    layout: { kind: 'cifar10', records: 10_000 },
    usage: '--data cifar10 --data-dir',
  },
  'cifar10-c': {
    name: 'cifar10-c',
    title: 'CIFAR-10-C (Zenodo record 2535967)',
    url: 'https://zenodo.org/records/2535967/files/CIFAR-10-C.tar?download=1',
    archive: 'CIFAR-10-C.tar',
    format: 'tar',
    bytes: 2_918_471_680,
    md5: '56bf5dcef84df0e2308c6dcbcbbd8499',
    folder: 'CIFAR-10-C',
    layout: { kind: 'cifar10-c', corruptions: CORRUPTION_NAMES, perSeverity: 10_000 },
    usage: 'eval-corruptions --source',
  },
  tinyimagenet: {
    name: 'tinyimagenet',
    title: 'Tiny ImageNet (cs231n)',
    url: 'http://cs231n.stanford.edu/tiny-imagenet-200.zip',
    archive: 'tiny-imagenet-200.zip',
    format: 'zip',
    bytes: 248_100_043,
    md5: '90528d7ca1a48142e341f4ef8d21d0de',
    folder: 'tiny-imagenet-200',
    layout: { kind: 'tinyimagenet', classes: 200, trainPerClass: 500, val: 10_000, test: 10_000 },
    usage: '--data tinyimagenet --data-dir',
  },
  'tinyimagenet-c': {
    name: 'tinyimagenet-c',
    title: 'Tiny-ImageNet-C (Zenodo record 2536630)',
    url: 'https://zenodo.org/records/2536630/files/Tiny-ImageNet-C.tar?download=1',
    archive: 'Tiny-ImageNet-C.tar',
    format: 'tar',
    folder: 'Tiny-ImageNet-C',
    // The 15 benchmark corruptions, 5 severities, the 10,000 validation images (50 a class).
    layout: { kind: 'tinyimagenet-c', corruptions: BENCHMARK_CORRUPTIONS, classes: 200, perSeverity: 10_000 },
    usage: 'eval-corruptions --source',
  },
};
