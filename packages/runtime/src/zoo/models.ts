import type { CompressOptions } from '../compress.js';
import type { Graph } from '../graph.js';
import { type BuildOptions, GraphBuilder } from './builder.js';

// Exact architectures with seeded weights (torchvision's definitions where it has the network, Caffe's
// CaffeNet and GoogLeNet otherwise, without LRN, which the op set lacks).

function lenet300100(o: BuildOptions): Graph {
  const b = new GraphBuilder([1, 1, 28, 28], o);
  return b.finish(b.fc(b.fc(b.fc(b.flatten('input'), 300, true), 100, true), 10));
}

function lenet5(o: BuildOptions): Graph {
  const b = new GraphBuilder([1, 1, 28, 28], o);
  let x = b.pool('MaxPool', b.conv('input', 20, 5), 2, 2);
  x = b.pool('MaxPool', b.conv(x, 50, 5), 2, 2);
  return b.finish(b.fc(b.fc(b.flatten(x), 500, true), 10));
}

function alexnet(o: BuildOptions): Graph {
  const s = o.size ?? 227;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = b.pool('MaxPool', b.relu(b.conv('input', 96, 11, { stride: 4 })), 3, 2);
  x = b.pool('MaxPool', b.relu(b.conv(x, 256, 5, { pad: 2, groups: 2 })), 3, 2);
  x = b.relu(b.conv(x, 384, 3, { pad: 1 }));
  x = b.relu(b.conv(x, 384, 3, { pad: 1, groups: 2 }));
  x = b.pool('MaxPool', b.relu(b.conv(x, 256, 3, { pad: 1, groups: 2 })), 3, 2);
  return b.finish(b.fc(b.fc(b.fc(b.flatten(x), 4096, true), 4096, true), 1000));
}

function vgg16(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = 'input';
  for (const v of [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0])
    x = v === 0 ? b.pool('MaxPool', x, 2, 2) : b.relu(b.conv(x, v, 3, { pad: 1 }));
  return b.finish(b.fc(b.fc(b.fc(b.flatten(x), 4096, true), 4096, true), 1000));
}

function googlenet(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  const conv = (x: string, out: number, k: number, pad = 0, stride = 1) =>
    b.relu(b.conv(x, out, k, { pad, stride }));
  const inception = (x: string, c1: number, r3: number, c3: number, r5: number, c5: number, pp: number) =>
    b.concat([
      conv(x, c1, 1),
      conv(conv(x, r3, 1), c3, 3, 1),
      conv(conv(x, r5, 1), c5, 5, 2),
      conv(b.pool('MaxPool', x, 3, 1, 1), pp, 1),
    ]);
  let x = b.pool('MaxPool', conv('input', 64, 7, 3, 2), 3, 2, 0, true);
  x = b.pool('MaxPool', conv(conv(x, 64, 1), 192, 3, 1), 3, 2, 0, true);
  x = inception(inception(x, 64, 96, 128, 16, 32, 32), 128, 128, 192, 32, 96, 64);
  x = b.pool('MaxPool', x, 3, 2, 0, true);
  for (const c of [
    [192, 96, 208, 16, 48, 64],
    [160, 112, 224, 24, 64, 64],
    [128, 128, 256, 24, 64, 64],
    [112, 144, 288, 32, 64, 64],
    [256, 160, 320, 32, 128, 128],
  ] as const)
    x = inception(x, c[0], c[1], c[2], c[3], c[4], c[5]);
  x = b.pool('MaxPool', x, 2, 2, 0, true);
  x = inception(inception(x, 256, 160, 320, 32, 128, 128), 384, 192, 384, 48, 128, 128);
  return b.finish(b.fc(b.flatten(b.gap(x)), 1000));
}

function resnet(blocks: readonly number[], bottleneck: boolean) {
  return (o: BuildOptions): Graph => {
    const s = o.size ?? 224;
    const b = new GraphBuilder([1, 3, s, s], o);
    let x = b.pool('MaxPool', b.convBn('input', 64, 7, { stride: 2, pad: 3 }), 3, 2, 1);
    let channels = 64;
    blocks.forEach((count, stage) => {
      const width = 64 * 2 ** stage;
      const out = bottleneck ? width * 4 : width;
      for (let i = 0; i < count; i++) {
        const stride = i === 0 && stage > 0 ? 2 : 1;
        const y = bottleneck
          ? b.convBn(b.convBn(b.convBn(x, width, 1), width, 3, { stride, pad: 1 }), out, 1, { act: 'none' })
          : b.convBn(b.convBn(x, width, 3, { stride, pad: 1 }), out, 3, { pad: 1, act: 'none' });
        const shortcut = stride !== 1 || channels !== out ? b.convBn(x, out, 1, { stride, act: 'none' }) : x;
        x = b.relu(b.add(y, shortcut));
        channels = out;
      }
    });
    return b.finish(b.fc(b.flatten(b.gap(x)), 1000));
  };
}

/**
 * Bi-Real Net's binary ResNet-18 (Liu et al., ECCV 2018): every 3×3 conv binary (sign activations,
 * ±1 weights, α and batch norm folded into its output scale) with a real-valued shortcut around each
 * conv; downsampling shortcuts are 2×2 average pool → real 1×1 conv → BN; first conv and classifier
 * stay full precision, as in the paper.
 */
function biRealResnet18(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = b.pool('MaxPool', b.convBn('input', 64, 7, { stride: 2, pad: 3 }), 3, 2, 1);
  let channels = 64;
  [2, 2, 2, 2].forEach((count, stage) => {
    const width = 64 * 2 ** stage;
    for (let i = 0; i < count; i++) {
      const stride = i === 0 && stage > 0 ? 2 : 1;
      const shortcut =
        stride !== 1 || channels !== width
          ? b.convBn(b.pool('AveragePool', x, 2, 2), width, 1, { act: 'none' })
          : x;
      const y = b.add(b.binaryConv(x, width, 3, { stride, pad: 1 }), shortcut);
      x = b.add(b.binaryConv(y, width, 3, { pad: 1 }), y);
      channels = width;
    }
  });
  return b.finish(b.fc(b.flatten(b.gap(x)), 1000));
}

function mobilenetV1(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = b.convBn('input', 32, 3, { stride: 2, pad: 1 });
  for (const [out, stride] of [
    [64, 1],
    [128, 2],
    [128, 1],
    [256, 2],
    [256, 1],
    [512, 2],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [512, 1],
    [1024, 2],
    [1024, 1],
  ] as const) {
    const c = b.shape(x)[1]!;
    x = b.convBn(b.convBn(x, c, 3, { stride, pad: 1, groups: c }), out, 1);
  }
  return b.finish(b.fc(b.flatten(b.gap(x)), 1000));
}

function mobilenetV2(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = b.convBn('input', 32, 3, { stride: 2, pad: 1, act: 'relu6' });
  for (const [t, c, n, s0] of [
    [1, 16, 1, 1],
    [6, 24, 2, 2],
    [6, 32, 3, 2],
    [6, 64, 4, 2],
    [6, 96, 3, 1],
    [6, 160, 3, 2],
    [6, 320, 1, 1],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const stride = i === 0 ? s0 : 1;
      const inC = b.shape(x)[1]!;
      const hidden = inC * t;
      let y = t === 1 ? x : b.convBn(x, hidden, 1, { act: 'relu6' });
      y = b.convBn(y, hidden, 3, { stride, pad: 1, groups: hidden, act: 'relu6' });
      y = b.convBn(y, c, 1, { act: 'none' });
      x = stride === 1 && inC === c ? b.add(x, y) : y;
    }
  }
  x = b.convBn(x, 1280, 1, { act: 'relu6' });
  return b.finish(b.fc(b.flatten(b.gap(x)), 1000));
}

function squeezenet11(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  const fire = (x: string, sq: number, e: number) => {
    const z = b.relu(b.conv(x, sq, 1));
    return b.concat([b.relu(b.conv(z, e, 1)), b.relu(b.conv(z, e, 3, { pad: 1 }))]);
  };
  let x = b.pool('MaxPool', b.relu(b.conv('input', 64, 3, { stride: 2 })), 3, 2, 0, true);
  x = b.pool('MaxPool', fire(fire(x, 16, 64), 16, 64), 3, 2, 0, true);
  x = b.pool('MaxPool', fire(fire(x, 32, 128), 32, 128), 3, 2, 0, true);
  x = fire(fire(fire(fire(x, 48, 192), 48, 192), 64, 256), 64, 256);
  return b.finish(b.flatten(b.gap(b.relu(b.conv(x, 1000, 1)))));
}

function shufflenetV2(o: BuildOptions): Graph {
  const s = o.size ?? 224;
  const b = new GraphBuilder([1, 3, s, s], o);
  let x = b.pool('MaxPool', b.convBn('input', 24, 3, { stride: 2, pad: 1 }), 3, 2, 1);
  const branch = (y: string, out: number, stride: number) =>
    b.convBn(b.convBn(b.convBn(y, out, 1), out, 3, { stride, pad: 1, groups: out, act: 'none' }), out, 1);
  [116, 232, 464].forEach((out, stage) => {
    for (let i = 0; i < [4, 8, 4][stage]!; i++) {
      const half = out / 2;
      if (i === 0) {
        const inC = b.shape(x)[1]!;
        const left = b.convBn(b.convBn(x, inC, 3, { stride: 2, pad: 1, groups: inC, act: 'none' }), half, 1);
        x = b.concat([left, branch(x, half, 2)]);
      } else {
        // the channel split: Slice in each stage's first basic unit, Split after (both appear in exports)
        const [a, c] = i === 1 ? b.sliceHalves(x) : b.splitHalves(x);
        x = b.concat([a, branch(c, half, 1)]);
      }
      x = b.channelShuffle(x, 2);
    }
  });
  x = b.convBn(x, 1024, 1);
  return b.finish(b.fc(b.viewFlatten(b.gap(x)), 1000));
}

/** The seed article's MNIST network, shared by BinaryNet, TernaryNet and DoReFa-Net. */
function mnistNet(o: BuildOptions): Graph {
  const b = new GraphBuilder([1, 1, 28, 28], o);
  let x = b.bn(b.pool('MaxPool', b.conv('input', 32, 5), 2, 2));
  x = b.bn(b.pool('MaxPool', b.conv(b.relu(x), 64, 5), 2, 2));
  x = b.bn(b.fc(b.flatten(b.relu(x)), 256));
  return b.finish(b.fc(b.relu(x), 10));
}

export interface ZooEntry {
  readonly build: (o: BuildOptions) => Graph;
  readonly description: string;
  /** How `zeroskip zoo` compresses it, where the network is defined by its quantization. */
  readonly compression?: CompressOptions;
}

export const ZOO: Readonly<Record<string, ZooEntry>> = {
  'lenet-300-100': { build: lenet300100, description: 'LeNet-300-100 (MNIST MLP)' },
  'lenet-5': { build: lenet5, description: 'LeNet-5, Caffe variant (20 and 50 filters)' },
  alexnet: { build: alexnet, description: 'AlexNet / CaffeNet, 227×227, grouped conv2/4/5, no LRN' },
  'vgg-16': { build: vgg16, description: 'VGG-16' },
  googlenet: { build: googlenet, description: 'GoogLeNet v1 (Inception), no auxiliary heads, no LRN' },
  'resnet-18': { build: resnet([2, 2, 2, 2], false), description: 'ResNet-18 (torchvision)' },
  'resnet-50': { build: resnet([3, 4, 6, 3], true), description: 'ResNet-50 v1.5 (torchvision)' },
  'bireal-resnet-18': {
    build: biRealResnet18,
    description: 'Bi-Real Net binary ResNet-18: binary 3×3 convs, real shortcuts, first and last layers real',
  },
  'mobilenet-v1': { build: mobilenetV1, description: 'MobileNet v1 1.0' },
  'mobilenet-v2': { build: mobilenetV2, description: 'MobileNet v2 1.0 (torchvision)' },
  'squeezenet-1.1': { build: squeezenet11, description: 'SqueezeNet 1.1 (torchvision)' },
  'shufflenet-v2': { build: shufflenetV2, description: 'ShuffleNet v2 1.0× (torchvision)' },
  binarynet: {
    build: mnistNet,
    description:
      'MNIST BinaryNet: conv 32 5×5 → pool → BN → conv 64 5×5 → pool → BN → dense 256 → BN → dense 10',
    compression: { binarize: 'all' },
  },
  ternarynet: {
    build: mnistNet,
    description: 'MNIST TernaryNet (same network, ternary weights)',
    compression: { ternary: 'all' },
  },
  'dorefa-net': {
    build: mnistNet,
    description: 'MNIST DoReFa-Net (same network, W1 A2)',
    compression: { dorefa: { weights: 1, activations: 2 } },
  },
};

/** Graph inputs that are statistics or bounds rather than trained values: BatchNormalization's mean and variance, Clip's bounds. */
const NOT_TRAINED: Readonly<Record<string, readonly number[]>> = { BatchNormalization: [3, 4], Clip: [1, 2] };

/**
 * Trainable parameters as PyTorch counts them: float initializers but batch-norm statistics and Clip
 * bounds, found by where each initializer feeds in (a decoded .zsk names them differently).
 */
export function parameterCount(g: Graph): number {
  const excluded = new Set(g.nodes.flatMap((n) => (NOT_TRAINED[n.op] ?? []).map((i) => n.inputs[i])));
  let n = 0;
  for (const [name, t] of g.initializers)
    if (t.dtype === 'float32' && !excluded.has(name)) n += t.data.length;
  return n;
}
