// A payload worker that says it is ready and then never answers: what a stalled worker looks like.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', () => {});
parentPort.postMessage({ ready: true });
