// `eval`: test accuracy of a checkpoint, printed and written as JSON.
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { resultJson } from '../io/result-json.js';
import { ProgressBar } from '../progress.js';
import { evaluate } from '../train.js';
import { parseArgs } from './args.js';
import { checkpointOptions, instantiate, openTestData, readCheckpoint } from './common.js';

export async function evalCommand(argv: string[]): Promise<void> {
  const args = parseArgs('eval', 'Evaluate a checkpoint on its test set (eval mode: batch-norm running statistics).', {
    ...checkpointOptions,
    json: { type: 'string', metavar: 'FILE', description: 'where to write the JSON result (default: eval-<data>.json beside the checkpoint)' },
  }, argv);
  if (!args) return;
  const checkpoint = await readCheckpoint(args.checkpoint as string, args);
  const data = await openTestData(checkpoint, args);
  const loaded = await instantiate(checkpoint);
  const bar = new ProgressBar('eval');
  const result = await evaluate(loaded.model, data.test, args['batch-size'] as number, (done, total) => bar.update(done, total));
  bar.done();
  const out = (args.json as string | undefined) ?? join(dirname(args.checkpoint as string), `eval-${loaded.dataset}.json`);
  const record = { checkpoint: args.checkpoint, data: loaded.dataset, testSplit: data.testSplit, samples: data.test.size, accuracy: result.accuracy, loss: result.loss };
  await writeFileAtomic(out, resultJson(record, `eval ${out}`, 2));
  console.log(`test accuracy ${(100 * result.accuracy).toFixed(2)}%  loss ${result.loss.toFixed(4)}  (${data.test.size} images) → ${out}`);
  loaded.model.dispose();
}
