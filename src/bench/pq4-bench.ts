/**
 * @module bench/pq4-bench
 * Micro-benchmark of the FastScan kernel alone (assembly/pq4.ts, pq4_scan), on the calling thread:
 * n random packed 4-bit codes of M sub-quantizers in one shared memory, random quantized tables,
 * top-k (heaps of 16-bit distances) for nq queries scanned together. Reports, per nq, codes scanned
 * per second per query and the bytes of codes read per second (GB/s: each block is read once for the
 * nq queries), best of `reps` runs. No Faiss here: the index benchmarks are `simdex bench`.
 *
 * Run: `node dist/src/bench/pq4-bench.js --n 200000 --M 128,32 --nq 1,2,4 --k 10 --bbs 32 --reps 5`;
 * prints one JSON object.
 */
import { pathToFileURL } from 'node:url';
import { kernelModule, kernelsFor } from '../kernels/wasm.js';
import { Segment } from '../storage/Segment.js';
import { roundUp } from '../quantizers/pq4FastScan.js';

export interface PQ4BenchOptions {
  n: number;
  Ms: number[];
  nqs: number[];
  k?: number;
  bbs?: number;
  reps?: number;
  /** Run the inner-product variant (min-heap) instead of L2. */
  ip?: boolean;
}

export interface PQ4BenchRow {
  M: number;
  nq: number;
  /** seconds of the best run */
  seconds: number;
  /** codes scanned per second and per query */
  codesPerSecond: number;
  /** bytes of packed codes read per second */
  gbPerSecond: number;
}

/** Runs the benchmark; returns one row per (M, nq). */
export function benchPQ4(opts: PQ4BenchOptions): { variant: string; n: number; k: number; bbs: number; rows: PQ4BenchRow[] } {
  const { n } = opts;
  const k = opts.k ?? 10;
  const bbs = opts.bbs ?? 32;
  const reps = opts.reps ?? 5;
  const isMax = opts.ip ? 0 : 1;
  const rows: PQ4BenchRow[] = [];
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  };
  for (const M of opts.Ms) {
    const M2 = M + (M & 1);
    const bytes = (roundUp(n, bbs) * M2) / 2;
    const maxNq = Math.max(...opts.nqs);
    const seg = new Segment(bytes + maxNq * (M2 * 16 + k * 12) + 1024);
    const kern = kernelsFor(seg.memory);
    const u8 = new Uint8Array(seg.memory.buffer);
    const codes = seg.dataOffset;
    for (let i = 0; i < bytes; i++) u8[codes + i] = rnd();
    const lut = codes + Math.ceil(bytes / 64) * 64;
    for (let i = 0; i < maxNq * M2 * 16; i++) u8[lut + i] = rnd();
    const hd = lut + maxNq * M2 * 16;
    const hi = hd + Math.ceil((maxNq * k * 4) / 8) * 8;
    const tmp = Segment.slotOffset(0);
    // warm-up: the engine compiles the kernel with its optimizing tier after a few calls
    for (let r = 0; r < 20; r++) kern.pq4_scan(isMax, 1, codes, Math.min(n, 20000), bbs, M2, lut, 0, k, hd, hi, 0, 0n, tmp);
    for (const nq of opts.nqs) {
      let best = Infinity;
      for (let r = 0; r < reps; r++) {
        kern.pq4_heapify(isMax, nq, k, hd, hi);
        const t = performance.now();
        kern.pq4_scan(isMax, nq, codes, n, bbs, M2, lut, 0, k, hd, hi, 0, 0n, tmp);
        best = Math.min(best, (performance.now() - t) / 1000);
      }
      rows.push({ M, nq, seconds: best, codesPerSecond: (n * nq) / best, gbPerSecond: bytes / best / 1e9 });
    }
  }
  return { variant: kernelModule().variant, n, k, bbs, rows };
}

function parseArgs(argv: string[]): PQ4BenchOptions {
  const get = (name: string, def: string): string => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 && i + 1 < argv.length ? argv[i + 1]! : def;
  };
  const list = (s: string): number[] => s.split(',').map((v) => parseInt(v, 10));
  return {
    n: parseInt(get('n', '200000'), 10),
    Ms: list(get('M', '128,32')),
    nqs: list(get('nq', '1,2,4')),
    k: parseInt(get('k', '10'), 10),
    bbs: parseInt(get('bbs', '32'), 10),
    reps: parseInt(get('reps', '5'), 10),
    ip: argv.includes('--ip'),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(benchPQ4(parseArgs(process.argv.slice(2))), null, 2));
}
