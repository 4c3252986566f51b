// Benchmark of IndexIVFScalarQuantizer (IVF1024,SQ8) against Python Faiss 1.7.3 at one thread.
// Usage: npm run build && node scripts/sq-bench.mjs [n=200000] [d=256] [nq=1000] [nlist=1024] [outDir=/tmp/sqbench]
// Writes the seeded clustered dataset and ground truth as .npy to outDir, runs simdex, then
// scripts/sq-bench.py on the same files (1 thread, OPENBLAS_NUM_THREADS=1), and prints both.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset } from '../dist/src/bench/dataset.js';
import { IndexFlatL2, IndexIVFScalarQuantizer, QuantizerType, setNumThreads, writeNpy } from '../dist/src/node.js';

const [n = 200000, d = 256, nq = 1000, nlist = 1024] = process.argv.slice(2, 6).map(Number);
const outDir = process.argv[6] ?? '/tmp/sqbench';
const threads = Number(process.env.SIMDEX_THREADS ?? 1);
mkdirSync(outDir, { recursive: true });
const k = 10;
const NPROBES = [1, 8, 32];

let t = performance.now();
const ds = generateDataset({ d, n, nq, seed: 1234 });
console.log(`dataset ${n} x ${d}, ${nq} queries: ${((performance.now() - t) / 1000).toFixed(1)} s`);
setNumThreads(2);
t = performance.now();
const flat = new IndexFlatL2(d);
flat.add(ds.base);
const gt = flat.search(ds.queries, k).labels;
flat.dispose();
console.log(`ground truth: ${((performance.now() - t) / 1000).toFixed(1)} s`);
writeNpy(join(outDir, 'base.npy'), ds.base, [n, d]);
writeNpy(join(outDir, 'queries.npy'), ds.queries, [nq, d]);
writeNpy(join(outDir, 'gt.npy'), gt, [nq, k]);

const recall = (labels) => {
  let hit = 0;
  for (let i = 0; i < nq; i++) {
    const truth = new Set(Array.from(gt.subarray(i * k, (i + 1) * k)));
    for (let j = 0; j < k; j++) if (truth.has(labels[i * k + j])) hit++;
  }
  return hit / (nq * k);
};

setNumThreads(threads);
const index = new IndexIVFScalarQuantizer(new IndexFlatL2(d), d, nlist, QuantizerType.QT_8bit);
t = performance.now();
index.train(ds.base);
const trainS = (performance.now() - t) / 1000;
t = performance.now();
index.add(ds.base);
const addS = (performance.now() - t) / 1000;
const rows = [];
for (const nprobe of NPROBES) {
  index.search(ds.queries.subarray(0, 50 * d), k, { nprobe }); // warm-up
  t = performance.now();
  const r = index.search(ds.queries, k, { nprobe });
  const batchQps = nq / ((performance.now() - t) / 1000);
  const single = new BigInt64Array(nq * k);
  t = performance.now();
  for (let i = 0; i < nq; i++) single.set(index.search(ds.queries.subarray(i * d, (i + 1) * d), k, { nprobe }).labels, i * k);
  const singleQps = nq / ((performance.now() - t) / 1000);
  rows.push({ nprobe, recall: recall(r.labels), recallSingle: recall(single), batchQps, singleQps });
}
console.log(`simdex IVF${nlist},SQ8 (${threads} thread${threads > 1 ? 's' : ''}): train ${trainS.toFixed(1)} s, add ${addS.toFixed(1)} s`);
for (const r of rows) {
  console.log(`  nprobe ${String(r.nprobe).padStart(2)}: recall@10 ${r.recall.toFixed(4)} (one at a time ${r.recallSingle.toFixed(4)}), batch ${r.batchQps.toFixed(0)} QPS, one query at a time ${r.singleQps.toFixed(0)} QPS`);
}
if (process.env.SKIP_FAISS !== '1') {
  const py = spawnSync('/usr/bin/python3', [new URL('./sq-bench.py', import.meta.url).pathname, outDir, String(nlist), NPROBES.join(',')], {
    encoding: 'utf8',
    env: { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1' },
  });
  process.stdout.write(py.stdout);
  if (py.status !== 0) process.stderr.write(py.stderr);
}
