/** A convolution layer of a published network, as the sparse-convolution papers benchmark it. */
export interface ConvLayerShape {
  readonly network: string;
  readonly name: string;
  /** input channels, height, width */
  readonly input: readonly [number, number, number];
  readonly outputs: number;
  readonly kernel: number;
  readonly stride: number;
  readonly pad: number;
  readonly groups: number;
  /** SkimCaffe's pruned sparsity for this layer, where the paper gives one. */
  readonly paperSparsity?: number;
}

const layer = (
  network: string,
  name: string,
  c: number,
  hw: number,
  o: number,
  k: number,
  pad: number,
  groups = 1,
  paperSparsity?: number,
): ConvLayerShape => ({
  network,
  name,
  input: [c, hw, hw],
  outputs: o,
  kernel: k,
  stride: 1,
  pad,
  groups,
  ...(paperSparsity === undefined ? {} : { paperSparsity }),
});

/** AlexNet (CaffeNet) conv2–5, GoogLeNet 3×3/5×5, ResNet-50 branch2b, VGG-16: the layers of Escort and SkimCaffe. */
export const PAPER_LAYERS: readonly ConvLayerShape[] = [
  layer('AlexNet', 'conv2', 96, 27, 256, 5, 2, 2, 0.856),
  layer('AlexNet', 'conv3', 256, 13, 384, 3, 1, 1, 0.931),
  layer('AlexNet', 'conv4', 384, 13, 384, 3, 1, 2, 0.918),
  layer('AlexNet', 'conv5', 384, 13, 256, 3, 1, 2, 0.885),
  layer('GoogLeNet', 'inception_3a/3x3', 96, 28, 128, 3, 1),
  layer('GoogLeNet', 'inception_3a/5x5', 16, 28, 32, 5, 2),
  layer('GoogLeNet', 'inception_4a/3x3', 96, 14, 208, 3, 1),
  layer('GoogLeNet', 'inception_5a/3x3', 160, 7, 320, 3, 1),
  layer('ResNet-50', 'res2a_branch2b', 64, 56, 64, 3, 1),
  layer('ResNet-50', 'res3a_branch2b', 128, 28, 128, 3, 1),
  layer('ResNet-50', 'res4a_branch2b', 256, 14, 256, 3, 1),
  layer('ResNet-50', 'res5a_branch2b', 512, 7, 512, 3, 1),
  layer('VGG-16', 'conv1_2', 64, 224, 64, 3, 1),
  layer('VGG-16', 'conv2_2', 128, 112, 128, 3, 1),
  layer('VGG-16', 'conv3_2', 256, 56, 256, 3, 1),
  layer('VGG-16', 'conv4_2', 512, 28, 512, 3, 1),
  layer('VGG-16', 'conv5_2', 512, 14, 512, 3, 1),
];

/** Small stand-ins for machines without a GPU: the same kinds of layer at a fraction of the size. */
export const QUICK_LAYERS: readonly ConvLayerShape[] = [
  layer('AlexNet/8', 'conv3', 32, 13, 48, 3, 1, 1, 0.931),
  layer('VGG-16/8', 'conv4_2', 64, 14, 64, 3, 1),
];
