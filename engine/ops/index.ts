// Every op, and the wiring autograd needs (ones for the seed gradient, addition for accumulation,
// the ReLU mask of a sum).
import { autogradOps } from '../autograd.js';
import { addRaw, reluGradOfSumRaw } from './elementwise.js';
import { onesLike } from './fill.js';

autogradOps.onesLike = onesLike;
autogradOps.accumulate = addRaw;
autogradOps.reluGradOfSum = reluGradOfSumRaw;

export * from './elementwise.js';
export * from './reduce.js';
export * from './fill.js';
export * from './cast.js';
export * from './matmul.js';
export * from './conv.js';
export * from './batchnorm.js';
export * from './pool.js';
export * from './loss.js';
export * from './shape.js';
export * from './random.js';
export * from './augment.js';
export * from './selectivity.js';
export * from './attack.js';
