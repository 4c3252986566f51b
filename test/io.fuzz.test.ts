/**
 * One fuzz test over every index file Faiss 1.7.3 wrote into test/golden/faiss-1.7.3, whatever its
 * type (flat, IDMap, IVF, SQ, PQ, FastScan, HNSW flat/SQ/PQ, IVF over HNSW, refine, pre-transforms,
 * on-disk shards): seeded random byte flips, each mutated file either reads (and then searches and
 * writes without crashing) or fails with a typed error (FormatError, InvalidArgumentError, or
 * NotSupportedError for a flipped fourcc that names a Faiss type simdex does not read). The per-type
 * tests check each format's meaning; this one checks that no type is left without fuzzing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FormatError, InvalidArgumentError, NotSupportedError, NotTrainedError } from '../src/errors.js';
import { deserializeIndex, serializeIndex } from '../src/io/faiss/index.js';
import { mulberry32 as rng } from './helpers/rng.js';

const GOLDEN = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'test', 'golden', 'faiss-1.7.3');
/** Files whose lists live in a separate .ivfdata ("ilod"): their reading needs a path (test/ondisk.test.ts). */
const NEEDS_DATA_FILE = /^ondisk_IVF16_(Flat|PQ4|Flat_added)\.faiss$/;
const FLIPS_PER_FILE = 60;

function typed(err: unknown): boolean {
  return err instanceof FormatError || err instanceof InvalidArgumentError || err instanceof NotSupportedError;
}

test('fuzz: seeded byte flips in every golden Faiss file, of every type, read or fail with typed errors only; what reads searches and writes', () => {
  const files = readdirSync(GOLDEN).filter((f) => f.endsWith('.faiss') && !NEEDS_DATA_FILE.test(f)).sort();
  assert.ok(files.length >= 60, `golden files found: ${files.length}`);
  const random = rng(0xf022);
  let read = 0;
  let failed = 0;
  const fourccs = new Set<string>();
  const skipped: string[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(join(GOLDEN, file)));
    // the unmutated file reads (a few golden files hold what simdex refuses on purpose, e.g. METRIC_L1:
    // those are the per-type tests' business)
    try {
      deserializeIndex(bytes).dispose();
    } catch (err) {
      if (!typed(err)) throw err;
      skipped.push(file);
      continue;
    }
    fourccs.add(String.fromCharCode(...bytes.subarray(0, 4)));
    for (let m = 0; m < FLIPS_PER_FILE; m++) {
      const mutated = bytes.slice();
      const flips = 1 + Math.floor(random() * 3);
      for (let f = 0; f < flips; f++) {
        // half of the flips in the first 128 bytes (headers, sizes), the rest anywhere
        const span = random() < 0.5 ? Math.min(128, bytes.length) : bytes.length;
        const at = Math.floor(random() * span);
        mutated[at] = mutated[at]! ^ (1 + Math.floor(random() * 255));
      }
      let index;
      try {
        index = deserializeIndex(mutated);
      } catch (err) {
        if (!typed(err)) assert.fail(`${file} mutation ${m}: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        failed++;
        continue;
      }
      read++;
      try {
        assert.ok(index.ntotal >= 0 && index.d >= 1, `${file} mutation ${m}: ntotal ${index.ntotal}, d ${index.d}`);
        // what reads is usable: a search of two queries returns well-formed results or a typed error
        try {
          const q = new Float32Array(2 * index.d).map(() => random());
          const r = index.search(q, 3);
          assert.equal(r.labels.length, 6);
          assert.equal(r.distances.length, 6);
        } catch (err) {
          if (!(typed(err) || err instanceof NotTrainedError)) {
            assert.fail(`${file} mutation ${m}, search: ${(err as Error)?.name}: ${(err as Error)?.message}`);
          }
        }
        try {
          serializeIndex(index);
        } catch (err) {
          if (!typed(err)) assert.fail(`${file} mutation ${m}, write: ${(err as Error)?.name}: ${(err as Error)?.message}`);
        }
      } finally {
        index.dispose();
      }
    }
  }
  for (const t of ['IxF2', 'IxMp', 'IwFl', 'IxSQ', 'IwSq', 'IxPq', 'IwPQ', 'IPfs', 'IwPf', 'IHNf', 'IHNs', 'IHNp', 'IxRF', 'IxPT']) {
    assert.ok(fourccs.has(t), `a golden file of type ${t} is fuzzed (types seen: ${[...fourccs].sort().join(' ')})`);
  }
  assert.ok(skipped.length <= 4, `golden files simdex refuses unmutated: ${skipped.join(', ')}`);
  assert.ok(read > 200 && failed > 200, `both outcomes occur (read ${read}, failed ${failed})`);
});
