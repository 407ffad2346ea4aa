// `selectivity-webgpu/models`: the ResNets of the study (ResNet20 for 32×32 inputs, ResNet18 for 64×64).
export * from './resnet.js';
