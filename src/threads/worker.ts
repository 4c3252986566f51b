/**
 * @module threads/worker
 * A pool thread. It blocks on its control word (Atomics.wait), and when woken takes its messages
 * synchronously (receiveMessageOnPort): shared memories to adopt, then one job to run. It never
 * returns to its event loop, so a job costs one wake-up, not a message round-trip.
 */
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

let seen = 0;
for (;;) {
  Atomics.wait(ctl, base, seen);
  seen = Atomics.load(ctl, base);
  let m;
  while ((m = receiveMessageOnPort(port)) !== undefined) {
    const msg = m.message as JobMessage;
    if (msg.type === 'memory') {
      memories.set(msg.id, msg.memory);
      continue;
    }
    if (msg.type === 'forget') {
      for (const id of msg.ids) memories.delete(id);
      continue;
    }
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
