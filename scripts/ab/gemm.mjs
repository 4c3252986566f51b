// A/B of the blocked kernel (inner_products_packed) between two builds in one process, rounds
// alternated: node scripts/ab/gemm.mjs <dist A> <dist B> (a dist is a built checkout's dist/,
// e.g. of a `git worktree` at another commit). Prints GMAC/s per shape (rows x vectors x d).
import { alternate, kernelPair, median } from './common.mjs';

const { KA, KB } = await kernelPair('gemm.mjs', 4000);
for (const d of [128, 256]) {
  for (const [nq, ny] of [[4500, 64], [4500, 256], [1024, 1024], [1000, 4096]]) {
    const Q = 1 << 20, Y = 1 << 22, P = 1 << 24, out = 1 << 25;
    KA.pack_block(P, Y, ny, d);
    const reps = Math.max(1, Math.round(1e9 / (nq * ny * d)));
    const res = alternate(KA, KB, 6, (K) => {
      let best = Infinity;
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        for (let i = 0; i < reps; i++) K.inner_products_packed(out, ny, Q, nq, P, ny, d);
        best = Math.min(best, performance.now() - t);
      }
      return (nq * ny * d * reps) / best / 1e6;
    });
    console.log(`${nq} x ${ny} x ${d}: A ${median(res.A).toFixed(2)} B ${median(res.B).toFixed(2)} GMAC/s`);
  }
}
