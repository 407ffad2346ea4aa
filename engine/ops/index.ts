// Every op, and the wiring autograd needs (ones for the seed gradient, addition for accumulation).
import { autogradOps } from '../autograd.js';
import { addRaw } from './elementwise.js';
import { onesLike } from './fill.js';

autogradOps.onesLike = onesLike;
autogradOps.accumulate = addRaw;

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
