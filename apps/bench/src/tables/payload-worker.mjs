// The sparse payload decoder's worker, bundled beside load-child.js, where decodeZskAsync looks for it.
import '@zeroskip/sparse/payload-worker';
