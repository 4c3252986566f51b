// A/B of the blocked kernel (inner_products_packed) between two builds in one process, rounds
// alternated: node scripts/ab/gemm.mjs <dist A> <dist B> (a dist is a built checkout's dist/,
// e.g. of a `git worktree` at another commit). Prints GMAC/s per shape (rows x vectors x d).
import { resolve } from 'node:path';

const [da, db] = process.argv.slice(2).map((p) => resolve(p));
if (!da || !db) throw new Error('usage: node scripts/ab/gemm.mjs <dist A> <dist B>');
const A = await import(`${da}/src/kernels/wasm.js`);
const B = await import(`${db}/src/kernels/wasm.js`);
const mem = new WebAssembly.Memory({ initial: 4000, maximum: 65536, shared: true });
const KA = A.kernelsFor(mem);
const KB = B.kernelsFor(mem);
const f = new Float32Array(mem.buffer);
let seed = 1;
for (let i = 0; i < f.length; i++) f[i] = (seed = (seed * 16807) % 2147483647) / 2147483647;
for (const d of [128, 256]) {
  for (const [nq, ny] of [[4500, 64], [4500, 256], [1024, 1024], [1000, 4096]]) {
    const Q = 1 << 20, Y = 1 << 22, P = 1 << 24, out = 1 << 25;
    KA.pack_block(P, Y, ny, d);
    const reps = Math.max(1, Math.round(1e9 / (nq * ny * d)));
    const res = { A: [], B: [] };
    for (let round = 0; round < 6; round++) {
      for (const [name, K] of round % 2 ? [['A', KA], ['B', KB]] : [['B', KB], ['A', KA]]) {
        let best = Infinity;
        for (let r = 0; r < 3; r++) {
          const t = performance.now();
          for (let i = 0; i < reps; i++) K.inner_products_packed(out, ny, Q, nq, P, ny, d);
          best = Math.min(best, performance.now() - t);
        }
        res[name].push((nq * ny * d * reps) / best / 1e6);
      }
    }
    const med = (a) => a.sort((x, y) => x - y)[a.length >> 1].toFixed(2);
    console.log(`${nq} x ${ny} x ${d}: A ${med(res.A)} B ${med(res.B)} GMAC/s`);
  }
}
