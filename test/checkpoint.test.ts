// Checkpoint metadata that lets the file alone rebuild the model elsewhere: input normalisation,
// class count and class names round-trip through __metadata__, and malformed values are refused
// with the file's name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeCheckpoint, encodeCheckpoint } from '../experiments/checkpoint.js';
import { decodeSafetensors, encodeSafetensors } from '../experiments/io/safetensors.js';
import { createModel, NORMALIZATION } from '../experiments/models.js';
import { setupGpu } from './helpers.js';

test.before(setupGpu);

const CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

test('normalisation, class count and class names round-trip through __metadata__', async () => {
  const model = createModel({ model: 'resnet20', dataset: 'cifar10', numClasses: 10 });
  try {
    const bytes = await encodeCheckpoint(model, null, null, { model: 'resnet20', data: 'cifar10' }, CLASSES);
    const { metadata } = decodeSafetensors(bytes, 'model.safetensors');
    // As PyTorch code reads them: plain strings, JSON for the lists.
    assert.equal(JSON.parse(metadata.input_mean), NORMALIZATION.cifar10.mean);
    assert.equal(JSON.parse(metadata.input_std), NORMALIZATION.cifar10.std);
    assert.is(metadata.num_classes, '10');
    assert.equal(JSON.parse(metadata.class_names), CLASSES);
    assert.equal(decodeCheckpoint(bytes, 'model.safetensors').interface, { ...NORMALIZATION.cifar10, numClasses: 10, classNames: CLASSES });
    // Without names (or with a list that does not fit), the rest is still recorded.
    const unnamed = decodeCheckpoint(await encodeCheckpoint(model, null, null, {}, ['a', 'b']), 'x').interface;
    assert.equal(unnamed, { ...NORMALIZATION.cifar10, numClasses: 10, classNames: null });
  } finally {
    model.dispose();
  }
});

test('malformed interface metadata is refused, naming the file and the key', async () => {
  const model = createModel({ model: 'resnet20', dataset: 'mnist', numClasses: 10 });
  const { tensors, metadata } = decodeSafetensors(await encodeCheckpoint(model, null, null, {}), 'x');
  model.dispose();
  const broken = (changes: Record<string, string>) => encodeSafetensors(tensors, { ...metadata, ...changes });
  assert.throws(() => decodeCheckpoint(broken({ input_std: '[0.2, 0, 0.2]' }), 'run/model.safetensors'), /run\/model\.safetensors: __metadata__ input_mean\/input_std must be 3 finite numbers/);
  assert.throws(() => decodeCheckpoint(broken({ num_classes: 'ten' }), 'run/model.safetensors'), /run\/model\.safetensors: __metadata__\.num_classes must be a positive integer/);
  assert.throws(() => decodeCheckpoint(broken({ class_names: '["a"]' }), 'run/model.safetensors'), /__metadata__\.class_names must list 10 strings/);
  assert.throws(() => decodeCheckpoint(broken({ input_mean: 'not json' }), 'run/model.safetensors'), /__metadata__\.input_mean is not valid JSON/);
  // Files written before the interface was recorded still load.
  const { input_mean: _m, input_std: _s, num_classes: _n, ...older } = metadata;
  assert.is(decodeCheckpoint(encodeSafetensors(tensors, older), 'old').interface, null);
});

test.run();
