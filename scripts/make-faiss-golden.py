#!/usr/bin/python3
"""Writes the golden Faiss files the tests of src/io/faiss read (test/golden/faiss-<version>/).

Run with the system Python that has Faiss: /usr/bin/python3 scripts/make-faiss-golden.py
Seeded and single-threaded (OpenMP and OpenBLAS): running it again with the same Faiss, numpy and
BLAS writes the same bytes.

For each index it writes <name>.faiss (faiss.write_index), <name>.labels.npy (int64, nq x k) and
<name>.distances.npy (float32, nq x k): Faiss's own search results for queries.npy. base.npy holds the
vectors added to every index, ids.npy the ids given to the IndexIDMap variants, manifest.json what
each file is.

IVF files (manifest.json's "ivf" section, see make_ivf_golden below): IndexIVFFlat written by Faiss
with its list sizes, nprobe, direct map type, Faiss's search results at nprobe = 1 and nprobe = nlist
(<name>.nprobe<p>.labels.npy / .distances.npy) and Faiss's reconstruct_n(0, ntotal) output.
"""
import json
import os
import sys

# Single-threaded BLAS and OpenMP: k-means sums in a fixed order, so the trained centroids (and the
# files) come out the same on every run. Must be set before numpy and faiss load OpenBLAS.
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('OMP_NUM_THREADS', '1')

import faiss
import numpy as np

D = 8
N = 50
NQ = 5
K = 10
SEED = 1234

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
out = os.path.join(root, 'test', 'golden', 'faiss-' + faiss.__version__)
os.makedirs(out, exist_ok=True)

rng = np.random.default_rng(SEED)
base = rng.standard_normal((N, D)).astype('float32')
queries = rng.standard_normal((NQ, D)).astype('float32')
# Non-sequential int64 ids: negative, above 2^53 (not exact as a JS number) and near int64 max.
ids = rng.choice(np.arange(-1000, 1000, dtype='int64'), size=N, replace=False) * 7919
ids = np.where(ids < -1, ids, ids + 1)  # never -1, Faiss's "no result" label
ids[0] = np.int64(2**53 + 1)
ids[1] = np.int64(2**63 - 1)
ids[2] = np.int64(-(2**62))
assert len(set(ids.tolist())) == N and -1 not in ids.tolist()

np.save(os.path.join(out, 'base.npy'), base)
np.save(os.path.join(out, 'queries.npy'), queries)
np.save(os.path.join(out, 'ids.npy'), ids)


def flat_l2():
    index = faiss.IndexFlatL2(D)
    index.add(base)
    return index


def flat_ip():
    index = faiss.IndexFlatIP(D)
    index.add(base)
    return index


def idmap_flat_l2():
    index = faiss.IndexIDMap(faiss.IndexFlatL2(D))
    index.add_with_ids(base, ids)
    return index


def idmap2_flat_ip():
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(D))
    index.add_with_ids(base, ids)
    return index


def flat_l2_empty():
    return faiss.IndexFlatL2(D)


def flat_l1():
    # Generic IndexFlat with another metric ("IxFl"): simdex reads only L2 and inner product.
    index = faiss.IndexFlat(D, faiss.METRIC_L1)
    index.add(base[:5])
    return index


def flat_lp():
    # METRIC_Lp: the header carries metric_arg (float32) after metric_type.
    index = faiss.IndexFlat(D, faiss.METRIC_Lp)
    index.metric_arg = 3.0
    index.add(base[:5])
    return index


cases = [
    # name, builder, type, fourccs (outer to inner), metric_type, searched
    ('flatL2', flat_l2, 'IndexFlatL2', ['IxF2'], 1, True),
    ('flatIP', flat_ip, 'IndexFlatIP', ['IxFI'], 0, True),
    ('IDMap_flatL2', idmap_flat_l2, 'IndexIDMap', ['IxMp', 'IxF2'], 1, True),
    ('IDMap2_flatIP', idmap2_flat_ip, 'IndexIDMap2', ['IxM2', 'IxFI'], 0, True),
    ('flatL2_empty', flat_l2_empty, 'IndexFlatL2', ['IxF2'], 1, True),
    ('flatL1', flat_l1, 'IndexFlat', ['IxFl'], 2, False),
    ('flatLp', flat_lp, 'IndexFlat', ['IxFl'], 4, False),
]

manifest = {
    'faiss_version': faiss.__version__,
    'numpy_version': np.__version__,
    'seed': SEED,
    'd': D,
    'nq': NQ,
    'k': K,
    'base': 'base.npy',
    'queries': 'queries.npy',
    'ids': 'ids.npy',
    'indexes': [],
}
for name, build, type_name, fourccs, metric, searched in cases:
    index = build()
    path = os.path.join(out, name + '.faiss')
    faiss.write_index(index, path)
    entry = {
        'name': name,
        'file': name + '.faiss',
        'type': type_name,
        'fourccs': fourccs,
        'd': index.d,
        'ntotal': int(index.ntotal),
        'metric_type': metric,
        'bytes': os.path.getsize(path),
    }
    if searched:
        distances, labels = index.search(queries, K)
        np.save(os.path.join(out, name + '.labels.npy'), labels.astype('int64'))
        np.save(os.path.join(out, name + '.distances.npy'), distances.astype('float32'))
        entry['labels'] = name + '.labels.npy'
        entry['distances'] = name + '.distances.npy'
    if type_name.startswith('IndexIDMap'):
        entry['ids'] = 'ids.npy'
    manifest['indexes'].append(entry)


# ---------------------------------------------------------------------------------------------------
# IndexIVFFlat ("IwFl" with "ilar" inverted lists, or "il00" when they are not stored)
# ---------------------------------------------------------------------------------------------------

IVF_SEED = 2023
IVF_K = 10
IVF_NQ = 8


def clustered(rng, n, d, centres, spread):
    """n points around the given centres (row-major float32)."""
    labels = rng.integers(0, len(centres), n)
    return (centres[labels] + spread * rng.standard_normal((n, d))).astype('float32')


def make_ivf_golden():
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(IVF_SEED)
    # RVC-like: 256-d features, IVF16,Flat, nprobe 1 (RVC's train_index, named as RVC names it).
    rvc_centres = 2 * rng.standard_normal((24, 256))
    rvc_base = clustered(rng, 2000, 256, rvc_centres, 0.8)
    rvc_queries = clustered(rng, IVF_NQ, 256, rvc_centres, 0.8)
    # Small cases: 16-d (8-d for the hashtable case), a few hundred vectors.
    centres16 = 3 * rng.standard_normal((12, 16))
    base16 = clustered(rng, 400, 16, centres16, 1.0)
    queries16 = clustered(rng, IVF_NQ, 16, centres16, 1.0)
    centres8 = 3 * rng.standard_normal((6, 8))
    base8 = clustered(rng, 160, 8, centres8, 1.0)
    queries8 = clustered(rng, IVF_NQ, 8, centres8, 1.0)
    # Non-sequential int64 ids: negative, above 2^53, near the int64 limits.
    ivf_ids = (rng.permutation(4000)[:400].astype('int64') - 2000) * 104729
    ivf_ids = np.where(ivf_ids == -1, 7, ivf_ids)
    ivf_ids[0] = np.int64(2**53 + 3)
    ivf_ids[1] = np.int64(2**63 - 2)
    ivf_ids[2] = np.int64(-(2**63) + 5)
    assert len(set(ivf_ids.tolist())) == 400 and -1 not in ivf_ids.tolist()
    arrays = {
        'ivf_rvc.base.npy': rvc_base, 'ivf_rvc.queries.npy': rvc_queries,
        'ivf_base16.npy': base16, 'ivf_queries16.npy': queries16,
        'ivf_base8.npy': base8, 'ivf_queries8.npy': queries8, 'ivf_ids.npy': ivf_ids,
    }
    for name, a in arrays.items():
        np.save(os.path.join(out, name), a)

    def trained(d, nlist, x, metric=faiss.METRIC_L2, desc=None):
        index = faiss.index_factory(d, desc or 'IVF%d,Flat' % nlist, metric)
        index.train(x)
        return index

    def only_lists(index, x, keep):
        """The vectors of x that the quantizer assigns to the lists in keep, in order."""
        _, assign = index.quantizer.search(x, 1)
        return x[np.isin(assign[:, 0], keep)]

    cases = []  # name, file, index, base (as added), queries, ids or None, extra manifest fields

    rvc = trained(256, 16, rvc_base)
    faiss.extract_index_ivf(rvc).nprobe = 1
    for i in range(0, len(rvc_base), 8192):  # RVC adds in batches of 8192
        rvc.add(rvc_base[i:i + 8192])
    cases.append(('rvc', 'added_IVF16_Flat_nprobe_1_test_v2.index', rvc, rvc_base, 'ivf_rvc.queries.npy', None, {}))

    ip = trained(16, 8, base16, faiss.METRIC_INNER_PRODUCT)
    ip.nprobe = 2
    ip.add(base16)
    cases.append(('ivf_IP', 'ivf_IP.faiss', ip, base16, 'ivf_queries16.npy', None, {}))

    dm = trained(16, 8, base16)
    dm.add(base16[:300])
    dm.make_direct_map()
    cases.append(('ivf_directmap', 'ivf_directmap.faiss', dm, base16[:300], 'ivf_queries16.npy', None, {}))

    ht = trained(8, 4, base8)
    ht.set_direct_map_type(faiss.DirectMap.Hashtable)
    ht_ids = ivf_ids[:160]
    ht.add_with_ids(base8, ht_ids)
    cases.append(('ivf_hashtable', 'ivf_hashtable.faiss', ht, base8, 'ivf_queries8.npy', 'ivf_ids.npy', {}))

    idmap = trained(16, 8, base16, desc='IDMap,IVF8,Flat')
    idmap.add_with_ids(base16[:300], ivf_ids[:300])
    cases.append(('IDMap_ivf', 'IDMap_ivf.faiss', idmap, base16[:300], 'ivf_queries16.npy', 'ivf_ids.npy', {}))

    full = trained(16, 8, base16)
    full_base = only_lists(full, base16, [0, 1, 2, 3, 4, 5, 7])  # list 6 stays empty: 7 of 8 used, "full"
    full.add(full_base)
    cases.append(('ivf_emptylist', 'ivf_emptylist.faiss', full, full_base, 'ivf_queries16.npy', None, {'list_type': 'full'}))

    sparse = trained(16, 8, base16)
    sparse_base = only_lists(sparse, base16, [1, 4, 6])  # 3 of 8 lists used: "sprs"
    sparse.add(sparse_base)
    cases.append(('ivf_sparse', 'ivf_sparse.faiss', sparse, sparse_base, 'ivf_queries16.npy', None, {'list_type': 'sprs'}))

    empty = trained(16, 8, base16)
    cases.append(('ivf_0vectors', 'ivf_0vectors.faiss', empty, base16[:0], 'ivf_queries16.npy', None, {'list_type': 'sprs'}))

    untrained = faiss.index_factory(16, 'IVF8,Flat')
    cases.append(('ivf_untrained', 'ivf_untrained.faiss', untrained, base16[:0], None, None, {}))

    null = trained(16, 8, base16)
    null.add(base16[:300])
    null.replace_invlists(None, False)  # written as "il00": the lists are not stored, ntotal is kept
    cases.append(('ivf_nullinvlists', 'ivf_nullinvlists.faiss', null, base16[:300], None, None, {'invlists': 'il00'}))

    entries = []
    for name, file, index, added, queries, ids, extra in cases:
        path = os.path.join(out, file)
        faiss.write_index(index, path)
        ivf = faiss.extract_index_ivf(index)
        outer = faiss.downcast_index(index)
        entry = {
            'name': name,
            'file': file,
            'type': type(outer).__name__,
            'fourccs': (['IxMp'] if isinstance(outer, faiss.IndexIDMap) else []) + ['IwFl', 'IxFI' if ivf.metric_type == 0 else 'IxF2'],
            'd': index.d,
            'ntotal': int(index.ntotal),
            'metric_type': int(index.metric_type),
            'is_trained': bool(index.is_trained),
            'nlist': int(ivf.nlist),
            'nprobe': int(ivf.nprobe),
            'direct_map': int(ivf.direct_map.type),
            'bytes': os.path.getsize(path),
        }
        entry.update(extra)
        if ivf.invlists is not None:
            entry['list_sizes'] = [int(ivf.invlists.list_size(i)) for i in range(ivf.nlist)]
            entry.setdefault('list_type', 'full' if sum(s > 0 for s in entry['list_sizes']) > ivf.nlist // 2 else 'sprs')
            entry.setdefault('invlists', 'ilar')
        if ids is not None:
            entry['ids'] = ids
        if queries is not None:
            entry['queries'] = queries
            q = np.load(os.path.join(out, queries))
            entry['search'] = []
            for nprobe in sorted({1, int(ivf.nlist)}):
                ivf.nprobe = nprobe
                distances, labels = index.search(q, IVF_K)
                stem = '%s.nprobe%d' % (name, nprobe)
                np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
                np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
                entry['search'].append({'nprobe': nprobe, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
            ivf.nprobe = entry['nprobe']
        if ivf.invlists is not None and ids is None and index.is_trained:
            # Sequential ids: reconstruct_n(0, ntotal) is the vectors as added.
            rec = ivf.reconstruct_n(0, ivf.ntotal)
            assert np.array_equal(rec, added), name
            if name == 'rvc':
                entry['reconstruct'] = 'ivf_rvc.base.npy'  # the same bytes: not stored twice (2 MB)
            else:
                entry['reconstruct'] = name + '.reconstruct.npy'
                np.save(os.path.join(out, entry['reconstruct']), rec)
        if name == 'IDMap_ivf':
            # IndexIDMap has no reconstruct in Faiss 1.7.3: the IVF inside it holds ids 0..ntotal-1.
            rec = ivf.reconstruct_n(0, ivf.ntotal)
            assert np.array_equal(rec, added), name
            entry['reconstruct'] = name + '.reconstruct.npy'
            np.save(os.path.join(out, entry['reconstruct']), rec)
        if name == 'ivf_hashtable':
            # Non-sequential ids: reconstruct(id) through the hashtable direct map, for every id.
            rec = np.stack([ivf.reconstruct(int(i)) for i in ht_ids])
            assert np.array_equal(rec, added), name
            entry['reconstruct_ids'] = name + '.reconstruct.npy'
            np.save(os.path.join(out, entry['reconstruct_ids']), rec)
        entries.append(entry)
    return {'seed': IVF_SEED, 'k': IVF_K, 'nq': IVF_NQ, 'indexes': entries}


manifest['ivf'] = make_ivf_golden()

with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=2)
    f.write('\n')

total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
print(f'wrote {len(os.listdir(out))} files, {total} bytes, to {os.path.relpath(out, root)}', file=sys.stderr)
