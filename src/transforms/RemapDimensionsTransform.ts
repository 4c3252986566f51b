/**
 * @module transforms/RemapDimensionsTransform
 * Faiss's RemapDimensionsTransform: output dimension j is input dimension map[j], or 0 where
 * map[j] = -1. Made by the factory's "Pad{n}" (RemapDimensionsTransform(d, max(n, d), false): the d
 * input dimensions first, then zeros). reverseTransform puts the kept dimensions back (the others are
 * 0): exact when the map is a permutation or a padding.
 */
import { InvalidArgumentError, InvalidTypeError } from '../errors.js';
import { VectorTransform } from './VectorTransform.js';

export class RemapDimensionsTransform extends VectorTransform {
  /** For each output dimension, its input dimension, or -1 for 0; size dOut. */
  readonly map: Int32Array;

  /**
   * @param map size dOut, each -1 or in [0, dIn); or a boolean: `uniform` (Faiss's second
   *   constructor): true spreads the dimensions evenly, false keeps the first min(dIn, dOut) in place.
   */
  constructor(dIn: number, dOut: number, map: Int32Array | boolean = true) {
    super(dIn, dOut);
    if (typeof map === 'boolean') {
      const m = new Int32Array(dOut).fill(-1);
      if (map) {
        if (dIn < dOut) for (let i = 0; i < dIn; i++) m[Math.floor((i * dOut) / dIn)] = i;
        else for (let i = 0; i < dOut; i++) m[i] = Math.floor((i * dIn) / dOut);
      } else {
        for (let i = 0; i < dIn && i < dOut; i++) m[i] = i;
      }
      this.map = m;
    } else {
      if (!(map instanceof Int32Array)) throw new InvalidTypeError('map', `an Int32Array of dOut = ${dOut} input dimensions`, map);
      if (map.length !== dOut) throw new InvalidArgumentError('map', `has length ${map.length}, expected dOut = ${dOut}`);
      for (let j = 0; j < dOut; j++) {
        const v = map[j]!;
        if (v !== -1 && !(v >= 0 && v < dIn)) throw new InvalidArgumentError('map', `[${j}] = ${v} must be -1 or an input dimension in [0, dIn = ${dIn})`);
      }
      this.map = Int32Array.from(map);
    }
  }

  applyNoalloc(x: Float32Array, n: number, out: Float32Array): void {
    const { dIn, dOut, map } = this;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dOut; j++) out[i * dOut + j] = map[j]! < 0 ? 0 : x[i * dIn + map[j]!]!;
    }
  }

  /** Puts the kept dimensions back in place, 0 elsewhere. */
  override reverseTransform(y: Float32Array): Float32Array {
    const n = this.checkReverse(y);
    const { dIn, dOut, map } = this;
    const x = new Float32Array(n * dIn);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < dOut; j++) if (map[j]! >= 0) x[i * dIn + map[j]!] = y[i * dOut + j]!;
    }
    return x;
  }
}
