/**
 * @module transforms/floatRandn
 * Faiss's float_randn (utils/random.cpp): n standard normal floats drawn from a seed, the very
 * numbers Faiss draws, so that a random rotation seeded as Faiss seeds it (RandomRotationMatrix,
 * PCAMatrix's random rotation, OPQMatrix's initial rotation) starts from the same matrix.
 *
 * Faiss cuts the array into blocks (1 block below 1024 floats, else 1024 blocks), each drawn by its
 * own mt19937 seeded `a0 + j * b0` (truncated to 32 bits), where a0 and b0 are the first two
 * `rand_int()` (31-bit) draws of mt19937(seed). Within a block, Marsaglia's polar method makes two
 * normals per accepted pair of uniforms `2 * mt() / (2^32 - 1) - 1`, computed in double and rounded to
 * float.
 */
import { RandomGenerator } from '../clustering/Clustering.js';

/** n normal floats (mean 0, variance 1), as Faiss's float_randn(x, n, seed); size n. */
export function floatRandn(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  const nblock = n < 1024 ? 1 : 1024;
  const rng0 = new RandomGenerator(seed);
  const a0 = rng0.next() & 0x7fffffff;
  const b0 = rng0.next() & 0x7fffffff;
  for (let j = 0; j < nblock; j++) {
    // Faiss: RandomGenerator rng(a0 + j * b0), an int64 that mt19937 truncates to 32 bits.
    const rng = new RandomGenerator(a0 + j * b0);
    const istart = Math.floor((j * n) / nblock);
    const iend = Math.floor(((j + 1) * n) / nblock);
    let a = 0;
    let b = 0;
    let s = 0;
    let state = 0;
    for (let i = istart; i < iend; i++) {
      if (state === 0) {
        do {
          a = 2 * (rng.next() / 4294967295) - 1;
          b = 2 * (rng.next() / 4294967295) - 1;
          s = a * a + b * b;
        } while (s >= 1);
        x[i] = a * Math.sqrt((-2 * Math.log(s)) / s);
      } else {
        x[i] = b * Math.sqrt((-2 * Math.log(s)) / s);
      }
      state = 1 - state;
    }
  }
  return x;
}
