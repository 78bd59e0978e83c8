// The TF.js engine every module here computes with. tfjs-core alone registers no gradients (the
// full tfjs bundle does) and no backend: importing tf from here guarantees both.
// The CPU backend first: it loads tfjs-core's Node build, whose engine the gradients then register into.
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';

export * as tf from '@tensorflow/tfjs-core';
