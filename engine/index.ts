// The engine's public surface (the package's main entry, `selectivity-webgpu`): device, tensors,
// autograd, ops, modules and the optimizer.
export { initGpu, gpu, destroyGpu, GpuError, type GpuContext, type GpuInfo } from './device.js';
export { runtime, Runtime } from './runtime.js';
export { type Program, type StorageBinding, type UniformField } from './program.js';
export { Tensor, tensor, empty, scope, numel, type DType, type Shape } from './tensor.js';
export { backward, noGrad, isGradEnabled, record, setGradFolds, type GradFold, type ReluMask } from './autograd.js';
export * from './ops/index.js';
export { Module, Conv2d, BatchNorm, Linear, convBatchNorm, type HostTensor, type InitOptions, type Conv2dLayerOptions } from './nn.js';
export { SGD, type SgdOptions } from './optim.js';
