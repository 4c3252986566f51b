// A/B of a small k-means training between two builds in one process, rounds alternated:
// node scripts/ab/train.mjs <dist A> <dist B> [vectors file] [factory]. Default: the SIFT sample of
// ../shared/datasets and IVF64,Flat, one thread. Prints the median over 9 rounds of each round's
// median of 5 trainings.
import { resolve } from 'node:path';

const [da, db, file, factory] = process.argv.slice(2);
if (!da || !db) throw new Error('usage: node scripts/ab/train.mjs <dist A> <dist B> [vectors file] [factory]');
const A = await import(`${resolve(da)}/src/node.js`);
const B = await import(`${resolve(db)}/src/node.js`);
A.setNumThreads(1);
B.setNumThreads(1);
const x = A.readVectors(file ?? resolve('../shared/datasets/ngt-sift5k/split_base4500.fvecs'));
const fac = factory ?? 'IVF64,Flat';
const res = { A: [], B: [] };
for (let r = 0; r < 9; r++) {
  for (const [name, S] of r % 2 ? [['A', A], ['B', B]] : [['B', B], ['A', A]]) {
    const ts = [];
    for (let i = 0; i < 5; i++) {
      const index = S.indexFactory(x.d, fac);
      const t = performance.now();
      index.train(x.data);
      ts.push(performance.now() - t);
      index.dispose();
    }
    ts.sort((p, q) => p - q);
    res[name].push(ts[2]);
  }
}
const med = (a) => a.sort((p, q) => p - q)[a.length >> 1].toFixed(1);
console.log(`${fac} training: A ${med(res.A)} ms, B ${med(res.B)} ms`);
