// Every shared kernel case, in suite order: the Node tests run them through uvu and the page's test
// mode (?tests) runs the same list in a browser.
import { batchNormCases } from './batchnorm.js';
import type { KernelCase } from './check.js';
import { convCases, convMaskCases, convResidualCases } from './conv.js';
import { elementwiseCases } from './elementwise.js';
import { halfCases } from './half.js';
import { lossCases } from './loss.js';
import { matmulCases } from './matmul.js';
import { poolCases } from './pool.js';
import { randomCases } from './random.js';
import { reduceCases } from './reduce.js';
import { selectivityCases } from './selectivity.js';
import { shapeCases } from './shape.js';

export const kernelCases: KernelCase[] = [
  ...elementwiseCases, ...reduceCases, ...matmulCases, ...convCases, ...convResidualCases, ...convMaskCases, ...batchNormCases,
  ...poolCases, ...lossCases, ...shapeCases, ...selectivityCases, ...randomCases, ...halfCases,
];

export const caseId = (c: KernelCase) => `${c.suite} / ${c.name}`;

export { Checker, runCase, closeFailure, boundAt, type KernelCase, type CheckedOutput, type Bound } from './check.js';
