export { default } from '../../tooling/build/tsup-package.js';
