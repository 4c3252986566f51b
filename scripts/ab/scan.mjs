// A/B of the one-query scans (fvec_L2sqr_ny, fvec_inner_products_ny) between two builds in one
// process, rounds alternated: node scripts/ab/scan.mjs <dist A> <dist B>. Prints ns per vector, in
// cache and from memory, and whether both builds give the same floats.
import { resolve } from 'node:path';

const [da, db] = process.argv.slice(2).map((p) => resolve(p));
if (!da || !db) throw new Error('usage: node scripts/ab/scan.mjs <dist A> <dist B>');
const A = await import(`${da}/src/kernels/wasm.js`);
const B = await import(`${db}/src/kernels/wasm.js`);
const mem = new WebAssembly.Memory({ initial: 10000, maximum: 65536, shared: true });
const KA = A.kernelsFor(mem);
const KB = B.kernelsFor(mem);
const f = new Float32Array(mem.buffer);
let seed = 1;
for (let i = 0; i < f.length; i++) f[i] = (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5;
const Y = 8 << 20, OA = 1 << 20, OB = 4 << 20;
for (const fn of ['fvec_L2sqr_ny', 'fvec_inner_products_ny']) {
  for (const d of [128, 256]) {
    for (const ny of [256, 1000, 200000]) {
      const reps = Math.ceil(4e6 / ny);
      const res = { A: [], B: [] };
      for (let round = 0; round < 5; round++) {
        for (const [name, K] of round % 2 ? [['A', KA], ['B', KB]] : [['B', KB], ['A', KA]]) {
          let best = Infinity;
          for (let r = 0; r < 3; r++) {
            const t = performance.now();
            for (let i = 0; i < reps; i++) K[fn](name === 'A' ? OA : OB, 0, Y, d, ny);
            best = Math.min(best, performance.now() - t);
          }
          res[name].push((best * 1e6) / (reps * ny));
        }
      }
      const o1 = new Float32Array(mem.buffer, OA, ny);
      const o2 = new Float32Array(mem.buffer, OB, ny);
      let same = true;
      for (let i = 0; i < ny; i++) if (o1[i] !== o2[i]) same = false;
      const med = (a) => a.sort((x, y) => x - y)[2].toFixed(1);
      console.log(`${fn} d ${d}, ${ny} vectors: A ${med(res.A)} B ${med(res.B)} ns per vector; same floats: ${same}`);
    }
  }
}
