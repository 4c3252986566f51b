/**
 * @module threads/worker
 * A pool thread. It blocks on its control word (Atomics.wait), and when woken takes its messages
 * synchronously (receiveMessageOnPort): shared memories to adopt, then one job to run. It never
 * returns to its event loop, so a job costs one wake-up, not a message round-trip.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { setKernelModule } from '../kernels/wasm.js';
import { jobs } from './jobs.js';
import type { JobMessage, WorkerInit } from './pool.js';
import { resolveRefs } from './refs.js';

const init = workerData as WorkerInit;
setKernelModule(init.module, init.variant);
const ctl = new Int32Array(init.control);
const port: MessagePort = init.port;
const base = init.index * 4;
const memories = new Map<number, WebAssembly.Memory>();

// An idle worker blocks in Atomics.wait and never collects garbage on its own, so the shared buffers
// and memories of past jobs would stay alive through it. Collect when enough has passed through, and
// when the worker has been idle for IDLE_COLLECT_MS after jobs that brought shared buffers.
const collect = exposeGc();
const COLLECT_AFTER_BYTES = 64 * 1024 * 1024;
const IDLE_COLLECT_MS = 250;
let receivedBytes = 0;

function exposeGc(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/** Bytes of the shared buffers a job's arguments refer to. */
function sharedBytes(v: unknown, depth = 0): number {
  if (ArrayBuffer.isView(v)) return v.buffer instanceof SharedArrayBuffer ? v.byteLength : 0;
  if (depth > 4 || typeof v !== 'object' || v === null) return 0;
  let s = 0;
  for (const x of Object.values(v)) s += sharedBytes(x, depth + 1);
  return s;
}

/**
 * Takes the waiting messages: memories to adopt or forget, jobs to run. A function of its own, so
 * that the messages and job arguments die with its frame: a collection in the loop below then frees
 * them (held in the loop's own frame, the last job's arguments stayed alive until the next job).
 */
function drain(): void {
  let m;
  while ((m = receiveMessageOnPort(port)) !== undefined) {
    const msg = m.message as JobMessage;
    if (msg.type === 'memory') {
      memories.set(msg.id, msg.memory);
      continue;
    }
    if (msg.type === 'forget') {
      for (const id of msg.ids) memories.delete(id);
      receivedBytes = COLLECT_AFTER_BYTES;
      continue;
    }
    receivedBytes += sharedBytes(msg.args);
    try {
      const fn = jobs[msg.job];
      if (fn === undefined) throw new Error(`unknown job ${msg.job}`);
      fn(resolveRefs(msg.args, memories), msg.lo, msg.hi, msg.slot);
      Atomics.store(ctl, base + 2, 0);
    } catch (e) {
      port.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      Atomics.store(ctl, base + 2, 1);
    }
    Atomics.store(ctl, base + 1, msg.gen);
    Atomics.notify(ctl, base + 1);
  }
}

let seen = 0;
for (;;) {
  const idle = collect !== undefined && receivedBytes > 0;
  if (Atomics.wait(ctl, base, seen, idle ? IDLE_COLLECT_MS : Infinity) === 'timed-out') {
    receivedBytes = 0;
    collect!();
    continue;
  }
  seen = Atomics.load(ctl, base);
  drain();
  if (collect !== undefined && receivedBytes >= COLLECT_AFTER_BYTES) {
    receivedBytes = 0;
    collect();
  }
}
