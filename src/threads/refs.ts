/**
 * @module threads/refs
 * Job arguments name shared memories by id, so that each memory crosses to a worker once (and the
 * worker's kernel instances for it are reused) instead of with every job.
 */

const ids = new WeakMap<WebAssembly.Memory, number>();
let nextId = 1;

/** The stable id of a shared memory. */
export function memoryId(memory: WebAssembly.Memory): number {
  let id = ids.get(memory);
  if (id === undefined) {
    id = nextId++;
    ids.set(memory, id);
  }
  return id;
}

interface MemoryRef {
  __memory: number;
}

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v));
}

/** Replaces every WebAssembly.Memory in args by its id; `seen` is called with each one. */
export function encodeRefs(args: unknown, seen: (id: number, memory: WebAssembly.Memory) => void): unknown {
  if (args instanceof WebAssembly.Memory) {
    const id = memoryId(args);
    seen(id, args);
    return { __memory: id } satisfies MemoryRef;
  }
  if (Array.isArray(args)) return args.map((v) => encodeRefs(v, seen));
  if (isPlain(args)) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(args)) out[key] = encodeRefs(v, seen);
    return out;
  }
  return args;
}

/** The inverse of encodeRefs, in a worker. */
export function resolveRefs(args: unknown, memories: Map<number, WebAssembly.Memory>): unknown {
  if (Array.isArray(args)) return args.map((v) => resolveRefs(v, memories));
  if (isPlain(args)) {
    if (typeof args.__memory === 'number') {
      const m = memories.get(args.__memory);
      if (m === undefined) throw new Error(`worker: unknown shared memory ${args.__memory}`);
      return m;
    }
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(args)) out[key] = resolveRefs(v, memories);
    return out;
  }
  return args;
}
