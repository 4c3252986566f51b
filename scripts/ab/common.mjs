// What the kernel A/B scripts share: the two builds' kernels on one memory of seeded floats.
import { resolve } from 'node:path';

/**
 * The kernels of dist A and dist B (argv's first two arguments: built checkouts' dist/) bound to one
 * shared memory of `pages` pages filled with seeded floats in [offset, offset + 1).
 */
export async function kernelPair(script, pages, offset = 0) {
  const [da, db] = process.argv.slice(2).map((p) => resolve(p));
  if (!da || !db) throw new Error(`usage: node scripts/ab/${script} <dist A> <dist B>`);
  const A = await import(`${da}/src/kernels/wasm.js`);
  const B = await import(`${db}/src/kernels/wasm.js`);
  const mem = new WebAssembly.Memory({ initial: pages, maximum: 65536, shared: true });
  const f = new Float32Array(mem.buffer);
  let seed = 1;
  for (let i = 0; i < f.length; i++) f[i] = (seed = (seed * 16807) % 2147483647) / 2147483647 + offset;
  return { KA: A.kernelsFor(mem), KB: B.kernelsFor(mem), mem };
}

/** Runs `measure(kernels, name)` for A and B in `rounds` rounds, alternating which goes first; returns each side's measures. */
export function alternate(KA, KB, rounds, measure) {
  const res = { A: [], B: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [name, K] of round % 2 ? [['A', KA], ['B', KB]] : [['B', KB], ['A', KA]]) res[name].push(measure(K, name));
  }
  return res;
}

/** The median of an array of numbers. */
export function median(a) {
  const b = [...a].sort((x, y) => x - y);
  return b[b.length >> 1];
}
