// A/B of the one-query scans (fvec_L2sqr_ny, fvec_inner_products_ny) between two builds in one
// process, rounds alternated: node scripts/ab/scan.mjs <dist A> <dist B>. Prints ns per vector, in
// cache and from memory, and whether both builds give the same floats.
import { alternate, kernelPair, median } from './common.mjs';

const { KA, KB, mem } = await kernelPair('scan.mjs', 10000, -0.5);
const Y = 8 << 20, OA = 1 << 20, OB = 4 << 20;
for (const fn of ['fvec_L2sqr_ny', 'fvec_inner_products_ny']) {
  for (const d of [128, 256]) {
    for (const ny of [256, 1000, 200000]) {
      const reps = Math.ceil(4e6 / ny);
      const res = alternate(KA, KB, 5, (K, name) => {
        let best = Infinity;
        for (let r = 0; r < 3; r++) {
          const t = performance.now();
          for (let i = 0; i < reps; i++) K[fn](name === 'A' ? OA : OB, 0, Y, d, ny);
          best = Math.min(best, performance.now() - t);
        }
        return (best * 1e6) / (reps * ny);
      });
      const o1 = new Float32Array(mem.buffer, OA, ny);
      const o2 = new Float32Array(mem.buffer, OB, ny);
      let same = true;
      for (let i = 0; i < ny; i++) if (o1[i] !== o2[i]) same = false;
      console.log(`${fn} d ${d}, ${ny} vectors: A ${median(res.A).toFixed(1)} B ${median(res.B).toFixed(1)} ns per vector; same floats: ${same}`);
    }
  }
}
