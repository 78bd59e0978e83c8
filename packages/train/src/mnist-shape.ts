/** MNIST images are IMAGE_SIZE × IMAGE_SIZE grey pixels: what every model of this package takes. */
export const IMAGE_SIZE = 28;
export const PIXELS = IMAGE_SIZE * IMAGE_SIZE;
