// The worker pool's memory: what a worker keeps after its jobs, and what it is told to forget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { IndexFlatL2, getNumThreads, setNumThreads } from '../src/simdex.js';
import { poolStats } from '../src/threads/pool.js';
import { randomVectors } from './helpers/rng.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects on this thread and gives the workers time to collect on theirs (they do after 250 ms idle). */
async function settle(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(200);
  }
}

/** 96 MiB of queries, in a frame of their own (the search shares a copy of them with the worker). */
function searchBig(index: IndexFlatL2, d: number): void {
  const x = new Float32Array((96 << 20) / 4);
  const r = index.search(x, 1);
  assert.equal(r.labels.length, x.length / d);
}

/** An index searched on two threads, then dropped without reset(). */
function searchAndDrop(d: number): void {
  const index = new IndexFlatL2(d);
  index.add(randomVectors(20000, d, 2));
  index.search(randomVectors(400, d, 3), 5);
}

test('pool: a worker lets go of the shared buffers of its last job', async () => {
  const saved = getNumThreads();
  setNumThreads(2);
  try {
    const d = 64;
    const index = new IndexFlatL2(d);
    index.add(randomVectors(4, d, 1));
    await settle();
    const before = process.memoryUsage().arrayBuffers;
    searchBig(index, d);
    await settle();
    const after = process.memoryUsage().arrayBuffers;
    assert.ok(after - before < 16 << 20, `array buffers still held: ${((after - before) / 2 ** 20).toFixed(1)} MiB more than before`);
  } finally {
    setNumThreads(saved);
  }
});

test('pool: the memories of an index dropped without reset() are forgotten by the workers', async () => {
  const saved = getNumThreads();
  setNumThreads(2);
  try {
    const d = 32;
    await settle();
    const held0 = poolStats().memoriesHeld;
    searchAndDrop(d);
    assert.ok(poolStats().memoriesHeld > held0, 'the search sent the index memory to a worker');
    await settle();
    assert.equal(poolStats().memoriesHeld, held0);
  } finally {
    setNumThreads(saved);
  }
});
