// Lane-wise selection and minimum / maximum in one instruction where the engine allows it.
//
// WebAssembly's f32x4.min / max propagate NaN and order -0 below +0: V8 spends about ten x86
// instructions on each. pmin / pmax (b < a ? b : a, a < b ? b : a) are one minps / maxps, and give
// the same lanes wherever no NaN and no signed zero meets them. v128.bitselect is three
// instructions; relaxed SIMD's lane select is one blend, and the same where every mask lane is all
// ones or all zeros (every comparison's result).

/** m ? a : b per 32-bit lane, m all ones or all zeros in each lane (a comparison's result). */
@inline export function select32(a: v128, b: v128, m: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_laneselect(a, b, m);
  return v128.bitselect(a, b, m);
}
