// The engine's public surface: device, tensors, autograd and ops.
export { initGpu, gpu, destroyGpu, GpuError, type GpuContext, type GpuInfo } from './device.js';
export { runtime, Runtime } from './runtime.js';
export { Tensor, tensor, empty, scope, numel, type DType, type Shape } from './tensor.js';
export { backward, noGrad, isGradEnabled, record } from './autograd.js';
export * from './ops/index.js';
