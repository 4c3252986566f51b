// The WASM surface of simdex: every kernel the TypeScript facade (src/kernels/) calls.
// The module imports its memory (env.memory, shared): each storage segment is one memory, and each
// thread instantiates this module once per segment it works on.
export {
  fvec_L2sqr, fvec_inner_product, fvec_norms_L2sqr, fvec_L2sqr_ny, fvec_inner_products_ny, fvec_renorm_L2, residuals_n,
  fvec_first_nonfinite,
} from './distances';
export { heap_heapify, heap_addn, heap_addn_ids, heap_reorder } from './heap';
export { inner_products_block, inner_products_packed, pack_block, packed_bytes } from './gemm';
export { knn_1q, knn_1q_ids, knn_batch, knn_batch_tmp_bytes, knn_batch_packed, knn_batch_packed_tmp_bytes, knn_list_batch, range_1q } from './knn';
export { sq_code_size, sq_tables_bytes, sq_set_query, sq_distances, sq_knn, sq_decode, sq_decode_packed, sq_encode8 } from './sq';
export { pq_distance_table, pq_distance_tables, pq_madd, pq_compute_codes, pq_assign, pq_scan, pq_scan_ids, pq_code_distances, pq_ivf_precomputed_list, pq_ivf_precomputed_queries, pq_ivf_residual_list } from './pq';
export { hnsw_search, hnsw_search_tmp_bytes, hnsw_add, hnsw_add_scratch_bytes } from './hnsw';
export { simd_peak_madd } from './peak';
export { pq4_heapify, pq4_scan, pq4_scan_lists, pq4_lut_minmax, pq4_lut_round, pq4_lut_2d } from './pq4';
export { refine_distances } from './refine';
export { bounds_project, bounds_block, bounds_select, bounds_refine } from './bounds';
export { kmeans_assigned_l2, kmeans_accumulate, kmeans_elkan_geometry, kmeans_elkan, kmeans_elkan_full } from './kmeans';
