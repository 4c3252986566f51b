/**
 * @module threads/pool
 * The worker pool: all cores on batch work, over shared memory.
 *
 * setNumThreads(n) (Faiss's omp_set_num_threads) sets how many threads work on a batch: the calling
 * thread plus n-1 workers. `parallelFor` splits [0, n) into contiguous ranges, posts one range to
 * each worker, runs the first range itself, then waits (Atomics.wait) for the others: the call is
 * synchronous, like Faiss's. Work too small to share runs on the calling thread alone, with no
 * thread round-trip.
 *
 * Workers exist in Node (worker_threads, found through process.getBuiltinModule so that this module
 * loads in a browser too). Elsewhere the pool has one thread.
 */
import { kernelModule } from '../kernels/wasm.js';
import { MAX_THREADS } from '../storage/Segment.js';
import { jobs } from './jobs.js';
import { encodeRefs, memoryId } from './refs.js';
import { sharedF32, sharedI64, toSharedF32 } from './shared.js';

export type JobMessage =
  | { type: 'memory'; id: number; memory: WebAssembly.Memory }
  | { type: 'forget'; ids: number[] }
  | { type: 'job'; job: string; args: unknown; lo: number; hi: number; slot: number; gen: number };

export interface WorkerInit {
  index: number;
  control: SharedArrayBuffer;
  port: import('node:worker_threads').MessagePort;
  module: WebAssembly.Module;
  variant: 'simd' | 'relaxed';
}

type WT = typeof import('node:worker_threads');
type OS = typeof import('node:os');

interface NodeProcess {
  getBuiltinModule?(id: string): unknown;
}

function nodeModule<T>(id: string): T | undefined {
  const proc = (globalThis as { process?: NodeProcess }).process;
  return proc?.getBuiltinModule?.(id) as T | undefined;
}

interface PoolWorker {
  worker: import('node:worker_threads').Worker;
  port: import('node:worker_threads').MessagePort;
  memories: Set<number>;
  gen: number;
}

/**
 * Memories sent to some worker: when the main thread's object is collected, nothing can name that
 * memory in a job again, so the workers are told to drop theirs (an index dropped without reset()
 * would otherwise stay alive in every worker that searched it).
 */
const sentMemories = new Set<number>();
const dropped = new FinalizationRegistry<number>((id) => {
  sentMemories.delete(id);
  forgetMemories([id]);
});

const control = new SharedArrayBuffer(MAX_THREADS * 16);
const ctl = new Int32Array(control);
/** Wake-ups without a job (forgetMemories), written to the control word negated. */
let wakes = 0;
const workers: PoolWorker[] = [];
let numThreads = defaultThreads();

function defaultThreads(): number {
  const os = nodeModule<OS>('node:os');
  const n = os ? (os.availableParallelism?.() ?? os.cpus().length) : ((globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1);
  return Math.max(1, Math.min(MAX_THREADS, n));
}

/** Sets how many threads batch operations use (the caller plus n-1 workers), 1..64. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: \`n\` must be a positive integer, got ${n}`);
  numThreads = Math.min(MAX_THREADS, n, workerThreadsAvailable() ? MAX_THREADS : 1);
}

/** How many threads batch operations use. */
export function getNumThreads(): number {
  return numThreads;
}

function workerThreadsAvailable(): boolean {
  return nodeModule<WT>('node:worker_threads') !== undefined;
}

function ensureWorkers(count: number): void {
  const wt = nodeModule<WT>('node:worker_threads');
  if (!wt) return;
  const { module, variant } = kernelModule();
  while (workers.length < count) {
    const index = workers.length + 1;
    const channel = new wt.MessageChannel();
    const init: WorkerInit = { index, control, port: channel.port2, module, variant };
    // execArgv: [] so that a parent started with `node -e ...` does not make workers run that script
    const worker = new wt.Worker(new URL('./worker.js', import.meta.url), { workerData: init, transferList: [channel.port2], execArgv: [] });
    worker.unref();
    channel.port1.unref();
    workers.push({ worker, port: channel.port1, memories: new Set(), gen: 0 });
  }
}

/**
 * Runs jobs[job](args, lo, hi, slot) over [0, n) on up to getNumThreads() threads, at least
 * minPerThread items each; returns when all are done. Typed arrays in args that workers write must
 * be over SharedArrayBuffers.
 */
export function parallelFor(job: string, args: unknown, n: number, minPerThread = 1): void {
  const fn = jobs[job];
  if (fn === undefined) throw new Error(`parallelFor: unknown job ${job}`);
  const threads = Math.max(1, Math.min(numThreads, Math.floor(n / Math.max(1, minPerThread))));
  if (threads === 1) {
    fn(args, 0, n, 0);
    return;
  }
  ensureWorkers(threads - 1);
  const wt = nodeModule<WT>('node:worker_threads')!;
  const bounds = (t: number): number => Math.floor((n * t) / threads);
  const active: PoolWorker[] = [];
  for (let t = 1; t < threads; t++) {
    const w = workers[t - 1]!;
    const encoded = encodeRefs(args, (id, memory) => {
      if (!w.memories.has(id)) {
        w.port.postMessage({ type: 'memory', id, memory } satisfies JobMessage);
        w.memories.add(id);
        if (!sentMemories.has(id)) {
          sentMemories.add(id);
          dropped.register(memory, id);
        }
      }
    });
    w.gen++;
    w.port.postMessage({ type: 'job', job, args: encoded, lo: bounds(t), hi: bounds(t + 1), slot: t, gen: w.gen } satisfies JobMessage);
    Atomics.store(ctl, t * 4, w.gen);
    Atomics.notify(ctl, t * 4);
    active.push(w);
  }
  let error: unknown;
  try {
    fn(args, 0, bounds(1), 0);
  } catch (e) {
    error = e;
  }
  for (let t = 1; t < threads; t++) {
    const w = active[t - 1]!;
    for (;;) {
      const done = Atomics.load(ctl, t * 4 + 1);
      if (done === w.gen) break;
      Atomics.wait(ctl, t * 4 + 1, done, 1000);
    }
    if (Atomics.load(ctl, t * 4 + 2) !== 0) {
      const m = wt.receiveMessageOnPort(w.port);
      error ??= new Error(`worker ${t}: ${(m?.message as { message?: string } | undefined)?.message ?? 'failed'}`);
    }
  }
  if (error !== undefined) throw error;
}

/**
 * Tells the workers to drop shared memories that are no longer used. An idle worker is woken to
 * read the message now (its control word moves on with no job behind it): otherwise it would keep
 * the memories until its next job.
 */
export function forgetMemories(memIds: number[]): void {
  workers.forEach((w, i) => {
    const mine = memIds.filter((id) => w.memories.has(id));
    if (mine.length === 0) return;
    for (const id of mine) w.memories.delete(id);
    w.port.postMessage({ type: 'forget', ids: mine } satisfies JobMessage);
    // a negative value: never a job's generation, so the next job still wakes the worker, and a
    // worker busy with a job (were this called from inside one) only drains its port once more
    const t = i + 1;
    Atomics.store(ctl, t * 4, -++wakes);
    Atomics.notify(ctl, t * 4);
  });
}

/** The pool's workers and how many shared memories they hold between them (a diagnostic). */
export function poolStats(): { workers: number; memoriesHeld: number } {
  return { workers: workers.length, memoriesHeld: workers.reduce((s, w) => s + w.memories.size, 0) };
}

/** Releases in the workers the memories of `before` that are not in `now` (after a reset or compaction). */
export function forgetDropped(before: readonly WebAssembly.Memory[], now: readonly WebAssembly.Memory[]): void {
  const keep = new Set(now);
  const gone = before.filter((m) => !keep.has(m)).map(memoryId);
  if (gone.length > 0) forgetMemories(gone);
}

/** A k-NN job's arguments: n queries in, n*k results out. */
export interface KnnJobArgs {
  x: Float32Array;
  distances: Float32Array;
  labels: BigInt64Array;
}

/**
 * Runs a k-NN job over n queries: on the calling thread when threads = 1 or the batch is small
 * (no thread round-trip), else split over the pool with the queries and results in shared buffers.
 * The results land in task.distances / task.labels.
 */
export function parallelSearch(job: string, task: KnnJobArgs, n: number, minPerThread: number): void {
  if (numThreads === 1 || n < 2 * minPerThread) {
    const fn = jobs[job];
    if (fn === undefined) throw new Error(`parallelSearch: unknown job ${job}`);
    fn(task, 0, n, 0);
    return;
  }
  const shared = { ...task, x: toSharedF32(task.x), distances: sharedF32(task.distances.length), labels: sharedI64(task.labels.length) };
  parallelFor(job, shared, n, minPerThread);
  task.distances.set(shared.distances);
  task.labels.set(shared.labels);
}
