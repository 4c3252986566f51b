// Lane operations in one x86 instruction where the result is the same. What V8 emits decides it:
// - WebAssembly's f32x4.min / max propagate NaN and order -0 below +0: about ten instructions each.
//   f32x4.pmin / pmax (b < a ? b : a, a < b ? b : a) are one minps / maxps, the same lanes wherever
//   no NaN and no pair of signed zeros meets them; the kernels call them directly.
// - f32x4.convert_i32x4_u is about eight instructions; an integer below 2^31 (a widened byte or
//   16-bit code) converts the same with convert_i32x4_s, one cvtdq2ps.
// - v128.bitselect is three instructions; relaxed SIMD's lane select is one blend, the same where
//   every mask lane is all ones or all zeros (every comparison's result): select32.

/** m ? a : b per 32-bit lane, m all ones or all zeros in each lane (a comparison's result). */
@inline export function select32(a: v128, b: v128, m: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_laneselect(a, b, m);
  return v128.bitselect(a, b, m);
}
