/** A scratch WASM memory with a bump allocator, to call kernels directly in tests. */
import { kernelsFor, type WasmKernels } from '../../src/kernels/wasm.js';

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly k: WasmKernels;
  private top = 64;
  constructor(bytes = 64 << 20) {
    const pages = Math.ceil(bytes / 65536);
    this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
    this.k = kernelsFor(this.memory);
  }
  alloc(bytes: number): number {
    const p = this.top;
    this.top = Math.ceil((p + bytes) / 16) * 16;
    if (this.top > this.memory.buffer.byteLength) throw new Error('arena full');
    return p;
  }
  putF32(x: Float32Array): number {
    const p = this.alloc(x.byteLength);
    new Float32Array(this.memory.buffer, p, x.length).set(x);
    return p;
  }
  putU8(x: Uint8Array): number {
    const p = this.alloc(x.byteLength);
    new Uint8Array(this.memory.buffer, p, x.length).set(x);
    return p;
  }
  putI64(x: BigInt64Array): number {
    const p = this.alloc(x.byteLength);
    new BigInt64Array(this.memory.buffer, p, x.length).set(x);
    return p;
  }
  f32(p: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, p, n).slice();
  }
  i64(p: number, n: number): BigInt64Array {
    return new BigInt64Array(this.memory.buffer, p, n).slice();
  }
}
