// `download`: fetch a published dataset (CIFAR-10, CIFAR-10-C, Tiny ImageNet, Tiny-ImageNet-C),
// verify it and unpack it where the other commands read it.
import { formatBytes } from '../../engine/pool.js';
import { downloadDataset } from '../download/dataset.js';
import { DOWNLOAD_NAMES, PUBLISHED, type DownloadName } from '../download/datasets.js';
import { parseArgs, UsageError } from './args.js';

const SUMMARY = [
  'Downloads a published dataset archive (resuming an interrupted download), checks it against its',
  'published MD5, and unpacks it into DIR/<folder> through a temporary folder, so the folder appears',
  'only once it is complete. Usage: download <dataset> --to DIR [--from FILE_OR_URL]',
  '',
  'Datasets:',
  ...DOWNLOAD_NAMES.map((name) => {
    const a = PUBLISHED[name];
    const size = a.bytes ? `, ${formatBytes(a.bytes)}` : '';
    const check = a.md5 ? `MD5 ${a.md5}` : 'no published checksum: layout checked, SHA-256 recorded';
    return `  ${name.padEnd(15)} ${a.title} → DIR/${a.folder}\n  ${''.padEnd(15)} ${a.url} (${check}${size})`;
  }),
].join('\n');

export async function downloadCommand(argv: string[]): Promise<void> {
  const args = parseArgs('download', SUMMARY, {
    to: { type: 'string', required: true, metavar: 'DIR', description: 'folder that receives the dataset folder (created if missing)' },
    from: { type: 'string', metavar: 'FILE_OR_URL', description: 'a mirror URL, or the archive already on disk (still checked against the published MD5)' },
    'keep-archive': { type: 'boolean', default: false, description: 'keep the downloaded archive in DIR after unpacking it' },
  }, argv, { positionals: ['NAME'] });
  if (!args) return;
  const [name, ...extra] = args._;
  if (!name || extra.length) throw new UsageError(`download: name one dataset: ${DOWNLOAD_NAMES.join(', ')} (e.g. download cifar10 --to ~/data)`);
  if (!(DOWNLOAD_NAMES as readonly string[]).includes(name)) throw new UsageError(`download: unknown dataset '${name}'; one of ${DOWNLOAD_NAMES.join(', ')}`);
  await downloadDataset(PUBLISHED[name as DownloadName], { to: args.to as string, from: args.from as string | undefined, keepArchive: args['keep-archive'] as boolean });
}
