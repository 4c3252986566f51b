# Python Faiss side of scripts/sq-bench.mjs: IVF{nlist},SQ8 on the .npy files it wrote, at 1 thread.
import sys, time
import numpy as np
import faiss

out_dir, nlist, nprobes = sys.argv[1], int(sys.argv[2]), [int(v) for v in sys.argv[3].split(',')]
faiss.omp_set_num_threads(1)
xb = np.load(f'{out_dir}/base.npy')
xq = np.load(f'{out_dir}/queries.npy')
gt = np.load(f'{out_dir}/gt.npy')
nq, k = gt.shape
d = xb.shape[1]

def recall(I):
    return sum(len(set(gt[i]) & set(I[i])) for i in range(nq)) / (nq * k)

index = faiss.index_factory(d, f'IVF{nlist},SQ8')
t = time.time(); index.train(xb); train_s = time.time() - t
t = time.time(); index.add(xb); add_s = time.time() - t
print(f'Faiss {faiss.__version__} IVF{nlist},SQ8 (1 thread): train {train_s:.1f} s, add {add_s:.1f} s')
for nprobe in nprobes:
    index.nprobe = nprobe
    index.search(xq[:50], k)
    t = time.time(); D, I = index.search(xq, k); batch = nq / (time.time() - t)
    I1 = np.empty_like(I)
    t = time.time()
    for i in range(nq):
        I1[i] = index.search(xq[i:i + 1], k)[1][0]
    single = nq / (time.time() - t)
    print(f'  nprobe {nprobe:2d}: recall@10 {recall(I):.4f} (one at a time {recall(I1):.4f}), batch {batch:.0f} QPS, one query at a time {single:.0f} QPS')
