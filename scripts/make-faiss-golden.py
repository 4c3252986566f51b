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

SQ files (manifest.json's "sq" section, see make_sq_golden): IndexScalarQuantizer ("IxSQ") and
IndexIVFScalarQuantizer ("IwSq") with their quantizer's fields, codes, search results, reconstruct_n.
HNSW files (manifest.json's "hnsw" section, see make_hnsw_golden): IndexHNSWFlat ("IHNf") with its graph
arrays and search results at efSearch 16 and 64; `--only=hnsw` writes only that section.
HNSW over codes (`--only=hnswq`, its own manifest-hnswq.json, see make_hnswq_golden): IndexHNSWSQ
("IHNs") and IndexHNSWPQ ("IHNp") with their search results and reconstruct_n.
PQ files (manifest.json's "pq" section, see make_pq_golden): IndexPQ ("IxPq") and IndexIVFPQ ("IwPQ");
`--only=pq` writes only that section.
On-disk files (`--only=ondisk`, its own manifest-ondisk.json, see make_ondisk_golden): IVF indexes with
Faiss's OnDiskInvertedLists ("ilod" + a .ivfdata file), built by contrib.ondisk.merge_ondisk of shards.
Pre-transform files (make_transforms_golden): IndexPreTransform ("IxPT") with PCA, OPQ, L2norm, ...;
`--only=transforms` writes only them and their own manifest-transforms.json.
`--only=sq` skips the IVF section (its files and manifest entries stay as they are); the small flat
files at the top are written again, with the same bytes.
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


# ---------------------------------------------------------------------------------------------------
# IndexScalarQuantizer ("IxSQ") and IndexIVFScalarQuantizer ("IwSq" with "ilar" inverted lists)
# ---------------------------------------------------------------------------------------------------

SQ_SEED = 4242
SQ_K = 10
SQ_NQ = 8


def make_sq_golden():
    """The "sq" section: SQ files, the vectors they hold, Faiss's codes, search results, reconstruct_n.

    Per entry: <name>.faiss; <name>.codes.npy (uint8, ntotal x code_size: the codes as stored, for IVF
    in list order) and for IVF <name>.list_ids.npy (int64, the ids in list order); search results
    (<name>.labels.npy / .distances.npy for flat, <name>.nprobe<p>.* at nprobe 1 and nlist for IVF);
    <name>.reconstruct.npy (reconstruct_n(0, ntotal), float32).
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(SQ_SEED)

    def skewed(n, d):
        # a different scale and offset per dimension: per-dimension ranges matter
        scale = 0.2 + 3 * rng.random(d)
        shift = 4 * rng.random(d) - 2
        return (shift + scale * rng.standard_normal((n, d))).astype('float32')

    base16 = skewed(120, 16)
    queries16 = skewed(SQ_NQ, 16)
    base13 = skewed(120, 13)
    queries13 = skewed(SQ_NQ, 13)
    direct16 = rng.integers(0, 256, (40, 16)).astype('float32')  # QT_8bit_direct encodes bytes
    centres = 3 * rng.standard_normal((10, 16))
    ivf_train = clustered(rng, 640, 16, centres, 1.0)  # >= 39 * nlist: k-means without a warning
    ivf_base = clustered(rng, 200, 16, centres, 1.0)
    ivf_queries = clustered(rng, SQ_NQ, 16, centres, 1.0)
    # Byte-valued queries for QT_8bit_direct: with d % 16 == 0, Faiss 1.7.3 converts the query to
    # uint8 (DistanceComputerByte: tmp[i] = int(x[i])) and computes integer distances; for bytes that
    # is the exact distance.
    direct_queries16 = rng.integers(0, 256, (SQ_NQ, 16)).astype('float32')
    arrays = {
        'sq_base16.npy': base16, 'sq_queries16.npy': queries16,
        'sq_base13.npy': base13, 'sq_queries13.npy': queries13, 'sq_direct16.npy': direct16, 'sq_direct_queries16.npy': direct_queries16,
        'sq_ivf_base.npy': ivf_base, 'sq_ivf_queries.npy': ivf_queries,
    }
    for name, a in arrays.items():
        np.save(os.path.join(out, name), a)
    SQ = faiss.ScalarQuantizer
    qt_names = {SQ.QT_8bit: 'QT_8bit', SQ.QT_4bit: 'QT_4bit', SQ.QT_8bit_uniform: 'QT_8bit_uniform',
                SQ.QT_4bit_uniform: 'QT_4bit_uniform', SQ.QT_fp16: 'QT_fp16', SQ.QT_8bit_direct: 'QT_8bit_direct',
                SQ.QT_6bit: 'QT_6bit'}

    def flat(d, qtype, x, metric=faiss.METRIC_L2, rangestat=None, arg=0.0, train=True):
        index = faiss.IndexScalarQuantizer(d, qtype, metric)
        if rangestat is not None:
            index.sq.rangestat = rangestat
            index.sq.rangestat_arg = arg
        if train:
            index.train(x)
            index.add(x)
        return index

    def ivf(desc, x, metric=faiss.METRIC_L2, by_residual=None, nprobe=1):
        index = faiss.index_factory(16, desc, metric)
        if by_residual is not None:
            faiss.downcast_index(index).by_residual = by_residual
        index.train(ivf_train)
        index.add(x)
        index.nprobe = nprobe
        return index

    cases = [
        # name, index, base (as added), queries file
        ('SQ8', flat(16, SQ.QT_8bit, base16), base16, 'sq_queries16.npy'),
        ('SQ4', flat(13, SQ.QT_4bit, base13), base13, 'sq_queries13.npy'),
        ('SQ6', flat(13, SQ.QT_6bit, base13), base13, 'sq_queries13.npy'),
        ('SQfp16', flat(16, SQ.QT_fp16, base16), base16, 'sq_queries16.npy'),
        ('SQ8_IP', flat(16, SQ.QT_8bit, base16, faiss.METRIC_INNER_PRODUCT), base16, 'sq_queries16.npy'),
        ('SQ4_uniform_meanstd', flat(16, SQ.QT_4bit_uniform, base16[:40], rangestat=SQ.RS_meanstd, arg=2.5), base16[:40], 'sq_queries16.npy'),
        ('SQ8_direct', flat(16, SQ.QT_8bit_direct, direct16), direct16, 'sq_direct_queries16.npy'),
        ('SQ8_untrained', flat(16, SQ.QT_8bit, None, train=False), base16[:0], None),
        ('IVF16_SQ8', ivf('IVF16,SQ8', ivf_base), ivf_base, 'sq_ivf_queries.npy'),
        ('IVF16_SQ4_nores', ivf('IVF16,SQ4', ivf_base, by_residual=False, nprobe=4), ivf_base, 'sq_ivf_queries.npy'),
        ('IVF16_SQfp16_IP', ivf('IVF16,SQfp16', ivf_base, faiss.METRIC_INNER_PRODUCT, nprobe=2), ivf_base, 'sq_ivf_queries.npy'),
    ]
    entries = []
    for name, index, added, queries in cases:
        file = name + '.faiss'
        path = os.path.join(out, file)
        faiss.write_index(index, path)
        index = faiss.downcast_index(index)
        is_ivf = isinstance(index, faiss.IndexIVF)
        sq = index.sq
        entry = {
            'name': name,
            'file': file,
            'type': type(index).__name__,
            'fourccs': ['IwSq', 'IxFI' if index.metric_type == 0 else 'IxF2'] if is_ivf else ['IxSQ'],
            'd': index.d,
            'ntotal': int(index.ntotal),
            'metric_type': int(index.metric_type),
            'is_trained': bool(index.is_trained),
            'qtype': int(sq.qtype),
            'qtype_name': qt_names[sq.qtype],
            'rangestat': int(sq.rangestat),
            'rangestat_arg': float(sq.rangestat_arg),
            'code_size': int(sq.code_size),
            'trained': [float(v) for v in faiss.vector_to_array(sq.trained)],
            'bytes': os.path.getsize(path),
        }
        if is_ivf:
            entry.update({'nlist': int(index.nlist), 'nprobe': int(index.nprobe), 'by_residual': bool(index.by_residual)})
            sizes = [int(index.invlists.list_size(l)) for l in range(index.nlist)]
            entry['list_sizes'] = sizes
            codes = [faiss.rev_swig_ptr(index.invlists.get_codes(l), sizes[l] * index.code_size).copy() for l in range(index.nlist) if sizes[l]]
            ids = [faiss.rev_swig_ptr(index.invlists.get_ids(l), sizes[l]).copy() for l in range(index.nlist) if sizes[l]]
            codes = np.concatenate(codes).reshape(-1, index.code_size)
            np.save(os.path.join(out, name + '.list_ids.npy'), np.concatenate(ids).astype('int64'))
            entry['list_ids'] = name + '.list_ids.npy'
        else:
            codes = faiss.vector_to_array(index.codes).reshape(-1, index.code_size)
            if index.ntotal > 0:
                assert np.array_equal(codes, index.sa_encode(added)), name
        np.save(os.path.join(out, name + '.codes.npy'), codes.astype('uint8'))
        entry['codes'] = name + '.codes.npy'
        if index.ntotal > 0:
            rec = index.reconstruct_n(0, index.ntotal)
            entry['reconstruct'] = name + '.reconstruct.npy'
            np.save(os.path.join(out, entry['reconstruct']), rec.astype('float32'))
        if queries is not None:
            entry['queries'] = queries
            q = np.load(os.path.join(out, queries))
            if is_ivf:
                entry['search'] = []
                for nprobe in sorted({1, int(index.nlist)}):
                    index.nprobe = nprobe
                    distances, labels = index.search(q, SQ_K)
                    stem = '%s.nprobe%d' % (name, nprobe)
                    np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
                    np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
                    entry['search'].append({'nprobe': nprobe, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
                index.nprobe = entry['nprobe']
            else:
                distances, labels = index.search(q, SQ_K)
                np.save(os.path.join(out, name + '.labels.npy'), labels.astype('int64'))
                np.save(os.path.join(out, name + '.distances.npy'), distances.astype('float32'))
                entry['labels'] = name + '.labels.npy'
                entry['distances'] = name + '.distances.npy'
        entries.append(entry)
    return {'seed': SQ_SEED, 'k': SQ_K, 'nq': SQ_NQ, 'indexes': entries}


HNSW_SEED = 4242
HNSW_K = 10
HNSW_NQ = 20


def make_hnsw_golden():
    """IndexHNSWFlat files ("IHNf", manifest.json's "hnsw" section): d = 16, M = 8, built by Faiss
    single-threaded (the graph is deterministic), with its HNSW arrays (<name>.levels.npy int32,
    .offsets.npy int64, .neighbors.npy int32), its scalar fields, and Faiss's search results at
    efSearch 16 and 64 (<name>.ef<e>.labels.npy / .distances.npy) for <name>.queries.npy."""
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(HNSW_SEED)
    d, M = 16, 8
    entries = []
    cases = [
        ('HNSW8_L2', faiss.METRIC_L2, 500, 40),
        ('HNSW8_IP', faiss.METRIC_INNER_PRODUCT, 400, 32),
    ]
    for name, metric, n, efc in cases:
        centres = rng.standard_normal((12, d)).astype('float32') * 3
        x = (centres[rng.integers(0, 12, n)] + rng.standard_normal((n, d)).astype('float32')).astype('float32')
        q = (centres[rng.integers(0, 12, HNSW_NQ)] + rng.standard_normal((HNSW_NQ, d)).astype('float32')).astype('float32')
        index = faiss.IndexHNSWFlat(d, M, metric)
        index.hnsw.efConstruction = efc
        index.add(x)
        index.hnsw.efSearch = 16
        faiss.write_index(index, os.path.join(out, name + '.faiss'))
        np.save(os.path.join(out, name + '.base.npy'), x)
        np.save(os.path.join(out, name + '.queries.npy'), q)
        h = index.hnsw
        levels = faiss.vector_to_array(h.levels).astype('int32')
        np.save(os.path.join(out, name + '.levels.npy'), levels)
        np.save(os.path.join(out, name + '.offsets.npy'), faiss.vector_to_array(h.offsets).astype('int64'))
        np.save(os.path.join(out, name + '.neighbors.npy'), faiss.vector_to_array(h.neighbors).astype('int32'))
        entry = {
            'name': name, 'file': name + '.faiss', 'type': 'IndexHNSWFlat', 'fourcc': 'IHNf',
            'storage_fourcc': 'IxF2' if metric == faiss.METRIC_L2 else 'IxFI',
            'd': d, 'M': M, 'ntotal': int(index.ntotal), 'metric_type': int(metric),
            'bytes': os.path.getsize(os.path.join(out, name + '.faiss')),
            'assign_probas': [float(v) for v in faiss.vector_to_array(h.assign_probas)],
            'cum_nneighbor_per_level': [int(v) for v in faiss.vector_to_array(h.cum_nneighbor_per_level)],
            'entry_point': int(h.entry_point), 'max_level': int(h.max_level),
            'efConstruction': int(h.efConstruction), 'efSearch': int(h.efSearch), 'upper_beam': int(h.upper_beam),
            'level_histogram': [int(v) for v in np.bincount(levels)[1:]],
            'base': name + '.base.npy', 'queries': name + '.queries.npy',
            'levels': name + '.levels.npy', 'offsets': name + '.offsets.npy', 'neighbors': name + '.neighbors.npy',
            'search': [],
        }
        for ef in (16, 64):
            index.hnsw.efSearch = ef
            distances, labels = index.search(q, HNSW_K)
            stem = '%s.ef%d' % (name, ef)
            np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
            np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
            entry['search'].append({'efSearch': ef, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
        entries.append(entry)
    return {'seed': HNSW_SEED, 'k': HNSW_K, 'nq': HNSW_NQ, 'indexes': entries}


PQ_SEED = 5151
PQ_K = 10
PQ_NQ = 10


def make_pq_golden():
    """The "pq" section: IndexPQ ("IxPq") and IndexIVFPQ ("IwPQ") files, d = 16, built with Faiss's
    factory (PQ4 and PQ8x4 run polysemous training: renumbered centroids, still stored as they are).

    Per entry: <name>.faiss; the PQ's fields (M, nbits, code_size, search_type, encode_signs,
    polysemous_ht; IVF: nlist, nprobe, by_residual, list_sizes); <name>.centroids.npy (float32, the
    PQ's centroids, M*ksub x dsub); <name>.codes.npy (uint8, ntotal x code_size, for IVF in list order)
    and for IVF <name>.list_ids.npy; search results (<name>.labels.npy / .distances.npy for flat,
    <name>.nprobe<p>.* at nprobe 1 and nlist for IVF) for pq_queries.npy; <name>.reconstruct.npy.
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(PQ_SEED)
    d = 16
    centres = 3 * rng.standard_normal((10, d))
    pq_train = clustered(rng, 1000, d, centres, 1.0)
    pq_base = clustered(rng, 300, d, centres, 1.0)
    pq_queries = clustered(rng, PQ_NQ, d, centres, 1.0)
    for name, a in {'pq_train.npy': pq_train, 'pq_base.npy': pq_base, 'pq_queries.npy': pq_queries}.items():
        np.save(os.path.join(out, name), a)

    def build(desc, metric=faiss.METRIC_L2, by_residual=None, nprobe=1):
        index = faiss.index_factory(d, desc, metric)
        if by_residual is not None:
            faiss.downcast_index(index).by_residual = by_residual
        index.train(pq_train)
        index.add(pq_base)
        if nprobe != 1:
            faiss.downcast_index(index).nprobe = nprobe
        return index

    cases = [
        ('PQ4', build('PQ4')),
        ('PQ8x4', build('PQ8x4')),
        ('PQ4_IP', build('PQ4', faiss.METRIC_INNER_PRODUCT)),
        ('IVF8_PQ4', build('IVF8,PQ4')),
        ('IVF8_PQ4_IP', build('IVF8,PQ4', faiss.METRIC_INNER_PRODUCT, nprobe=2)),
        ('IVF8_PQ8x4_nores', build('IVF8,PQ8x4', by_residual=False, nprobe=3)),
    ]
    entries = []
    for name, index0 in cases:
        file = name + '.faiss'
        path = os.path.join(out, file)
        faiss.write_index(index0, path)
        index = faiss.downcast_index(index0)
        is_ivf = isinstance(index, faiss.IndexIVF)
        pq = index.pq
        entry = {
            'name': name, 'file': file, 'type': type(index).__name__,
            'fourccs': ['IwPQ', 'IxFI' if index.metric_type == 0 else 'IxF2'] if is_ivf else ['IxPq'],
            'd': index.d, 'ntotal': int(index.ntotal), 'metric_type': int(index.metric_type),
            'is_trained': bool(index.is_trained),
            'M': int(pq.M), 'nbits': int(pq.nbits), 'code_size': int(pq.code_size),
            'bytes': os.path.getsize(path), 'queries': 'pq_queries.npy', 'base': 'pq_base.npy',
        }
        centroids = faiss.vector_to_array(pq.centroids).reshape(-1, pq.dsub)
        np.save(os.path.join(out, name + '.centroids.npy'), centroids.astype('float32'))
        entry['centroids'] = name + '.centroids.npy'
        if is_ivf:
            entry.update({'nlist': int(index.nlist), 'nprobe': int(index.nprobe), 'by_residual': bool(index.by_residual),
                          'use_precomputed_table': int(index.use_precomputed_table)})
            sizes = [int(index.invlists.list_size(l)) for l in range(index.nlist)]
            entry['list_sizes'] = sizes
            codes = [faiss.rev_swig_ptr(index.invlists.get_codes(l), sizes[l] * index.code_size).copy() for l in range(index.nlist) if sizes[l]]
            ids = [faiss.rev_swig_ptr(index.invlists.get_ids(l), sizes[l]).copy() for l in range(index.nlist) if sizes[l]]
            codes = np.concatenate(codes).reshape(-1, index.code_size)
            np.save(os.path.join(out, name + '.list_ids.npy'), np.concatenate(ids).astype('int64'))
            entry['list_ids'] = name + '.list_ids.npy'
        else:
            entry.update({'search_type': int(index.search_type), 'encode_signs': bool(index.encode_signs),
                          'polysemous_ht': int(index.polysemous_ht)})
            codes = faiss.vector_to_array(index.codes).reshape(-1, index.code_size)
            assert np.array_equal(codes, index.sa_encode(pq_base)), name
        np.save(os.path.join(out, name + '.codes.npy'), codes.astype('uint8'))
        entry['codes'] = name + '.codes.npy'
        rec = index.reconstruct_n(0, index.ntotal)
        entry['reconstruct'] = name + '.reconstruct.npy'
        np.save(os.path.join(out, entry['reconstruct']), rec.astype('float32'))
        if is_ivf:
            entry['search'] = []
            for nprobe in sorted({1, int(index.nlist)}):
                index.nprobe = nprobe
                distances, labels = index.search(pq_queries, PQ_K)
                stem = '%s.nprobe%d' % (name, nprobe)
                np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
                np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
                entry['search'].append({'nprobe': nprobe, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
            index.nprobe = entry['nprobe']
        else:
            distances, labels = index.search(pq_queries, PQ_K)
            np.save(os.path.join(out, name + '.labels.npy'), labels.astype('int64'))
            np.save(os.path.join(out, name + '.distances.npy'), distances.astype('float32'))
            entry['labels'] = name + '.labels.npy'
            entry['distances'] = name + '.distances.npy'
        entries.append(entry)
    return {'seed': PQ_SEED, 'k': PQ_K, 'nq': PQ_NQ, 'indexes': entries}


REFINE_SEED = 6262
REFINE_K = 10
REFINE_NQ = 10


def make_refine_golden():
    """`--only=refine`: its own manifest-refine.json, files prefixed RF_ and IVFH_, d = 16, built with
    Faiss's factory, single-threaded (the HNSW graphs are deterministic).

    "refine": IndexRefine files ("IxRF": base index, refinement index, k_factor), written with the
    k_factor and base nprobe given; for each (nprobe, k_factor) of "search", Faiss's results
    (<stem>.labels.npy / .distances.npy) and the base index's own kBase = k * k_factor candidates
    (<stem>.base_labels.npy / .base_distances.npy) for rf_queries.npy.
    "ivf_hnsw": IVF indexes whose quantizer is an IndexHNSWFlat (`IVF{n}_HNSW{M},...`: "IHNf" nested in
    the IVF file); for each (nprobe, quantizer efSearch) of "search", Faiss's results and the probed
    lists (<stem>.coarse.npy, the quantizer's labels, nq x nprobe) for ivfh_queries.npy.
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(REFINE_SEED)
    d = 16
    centres = 3 * rng.standard_normal((10, d))
    rf_train = clustered(rng, 1000, d, centres, 1.0)
    rf_base = clustered(rng, 400, d, centres, 1.0)
    rf_queries = clustered(rng, REFINE_NQ, d, centres, 1.0)
    centres_h = 3 * rng.standard_normal((40, d))
    ivfh_train = clustered(rng, 3000, d, centres_h, 1.0)
    ivfh_base = clustered(rng, 600, d, centres_h, 1.0)
    ivfh_queries = clustered(rng, REFINE_NQ, d, centres_h, 1.0)
    # the training sets are not stored (the tests read the trained indexes)
    arrays = {'rf_base.npy': rf_base, 'rf_queries.npy': rf_queries, 'ivfh_base.npy': ivfh_base, 'ivfh_queries.npy': ivfh_queries}
    for name, a in arrays.items():
        np.save(os.path.join(out, name), a)

    def save(stem, distances, labels, prefix=''):
        np.save(os.path.join(out, stem + '.' + prefix + 'labels.npy'), labels.astype('int64'))
        np.save(os.path.join(out, stem + '.' + prefix + 'distances.npy'), distances.astype('float32'))

    refine_cases = [
        # name, description, metric, k_factor and base nprobe as written, searches (nprobe, k_factor)
        ('RF_IVF16_PQ4_RFlat', 'IVF16,PQ4,RFlat', faiss.METRIC_L2, 4.0, 2, [(1, 1.0), (2, 4.0), (16, 8.0)]),
        ('RF_IVF16_PQ4_RFlat_IP', 'IVF16,PQ4,RFlat', faiss.METRIC_INNER_PRODUCT, 2.0, 4, [(4, 2.0), (16, 16.0)]),
        ('RF_PQ4_RFlat', 'PQ4,RFlat', faiss.METRIC_L2, 1.5, None, [(None, 1.0), (None, 3.0)]),
        ('RF_IVF8_PQ4_Refine_SQfp16', 'IVF8,PQ4,Refine(SQfp16)', faiss.METRIC_L2, 2.0, 1, [(1, 2.0), (8, 4.0)]),
    ]
    refine_entries = []
    for name, desc, metric, k_factor, nprobe, searches in refine_cases:
        index0 = faiss.index_factory(d, desc, metric)  # owns the index: keep it alive
        index = faiss.downcast_index(index0)
        index.train(rf_train)
        index.add(rf_base)
        base = faiss.downcast_index(index.base_index)
        refine = faiss.downcast_index(index.refine_index)
        index.k_factor = k_factor
        if nprobe is not None:
            base.nprobe = nprobe
        file = name + '.faiss'
        faiss.write_index(index, os.path.join(out, file))
        read_back = faiss.read_index(os.path.join(out, file))
        entry = {
            'name': name, 'file': file, 'description': desc, 'written_type': type(index).__name__,
            'read_type': type(read_back).__name__, 'base_type': type(base).__name__, 'refine_type': type(refine).__name__,
            'd': d, 'ntotal': int(index.ntotal), 'metric_type': int(metric), 'k_factor': k_factor,
            'base_nprobe': nprobe, 'bytes': os.path.getsize(os.path.join(out, file)),
            'base': 'rf_base.npy', 'queries': 'rf_queries.npy', 'search': [],
        }
        for p, kf in searches:
            if p is not None:
                base.nprobe = p
            index.k_factor = kf
            stem = '%s.nprobe%s.kf%g' % (name, p if p is not None else 0, kf)
            distances, labels = index.search(rf_queries, REFINE_K)
            save(stem, distances, labels)
            k_base = int(REFINE_K * np.float32(kf))
            bd, bl = base.search(rf_queries, k_base)
            save(stem, bd, bl, 'base_')
            entry['search'].append({'nprobe': p, 'k_factor': kf, 'k_base': k_base,
                                    'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy',
                                    'base_labels': stem + '.base_labels.npy', 'base_distances': stem + '.base_distances.npy'})
        refine_entries.append(entry)

    hnsw_cases = [
        # name, description, metric, searches (nprobe, quantizer efSearch or None for the default)
        ('IVFH_IVF64_HNSW8_Flat', 'IVF64_HNSW8,Flat', faiss.METRIC_L2, [(1, None), (8, None), (32, None), (8, 64)]),
        ('IVFH_IVF32_HNSW8_PQ4', 'IVF32_HNSW8,PQ4', faiss.METRIC_L2, [(1, None), (8, None)]),
        ('IVFH_IVF32_HNSW8_SQ8_IP', 'IVF32_HNSW8,SQ8', faiss.METRIC_INNER_PRODUCT, [(2, None), (16, 32)]),
    ]
    hnsw_entries = []
    for name, desc, metric, searches in hnsw_cases:
        index0 = faiss.index_factory(d, desc, metric)  # owns the index: keep it alive
        index = faiss.downcast_index(index0)
        index.train(ivfh_train)
        index.add(ivfh_base)
        quantizer = faiss.downcast_index(index.quantizer)
        file = name + '.faiss'
        faiss.write_index(index, os.path.join(out, file))
        entry = {
            'name': name, 'file': file, 'description': desc, 'type': type(index).__name__,
            'quantizer_type': type(quantizer).__name__, 'd': d, 'ntotal': int(index.ntotal),
            'metric_type': int(metric), 'nlist': int(index.nlist), 'nprobe': int(index.nprobe),
            'hnsw_M': int(quantizer.hnsw.nb_neighbors(1)), 'efSearch': int(quantizer.hnsw.efSearch),
            'efConstruction': int(quantizer.hnsw.efConstruction), 'quantizer_trains_alone': ord(index.quantizer_trains_alone),
            'spherical': bool(index.cp.spherical), 'bytes': os.path.getsize(os.path.join(out, file)),
            'list_sizes': [int(index.invlists.list_size(l)) for l in range(index.nlist)],
            'base': 'ivfh_base.npy', 'queries': 'ivfh_queries.npy', 'search': [],
        }
        for p, ef in searches:
            params = faiss.SearchParametersIVF()
            params.nprobe = p
            qp = None
            if ef is not None:
                qp = faiss.SearchParametersHNSW()
                qp.efSearch = ef
                params.quantizer_params = qp
            distances, labels = index.search(ivfh_queries, REFINE_K, params=params)
            stem = '%s.nprobe%d.ef%s' % (name, p, ef if ef is not None else 'default')
            save(stem, distances, labels)
            _, coarse = quantizer.search(ivfh_queries, p, params=qp)
            np.save(os.path.join(out, stem + '.coarse.npy'), coarse.astype('int64'))
            entry['search'].append({'nprobe': p, 'quantizer_efSearch': ef, 'labels': stem + '.labels.npy',
                                    'distances': stem + '.distances.npy', 'coarse': stem + '.coarse.npy'})
        hnsw_entries.append(entry)
    return {'seed': REFINE_SEED, 'k': REFINE_K, 'nq': REFINE_NQ, 'refine': refine_entries, 'ivf_hnsw': hnsw_entries}


TRANSFORMS_SEED = 7171
TRANSFORMS_K = 10
TRANSFORMS_NQ = 10
TRANSFORMS_NREC = 20  # vectors reconstructed through the reversed chain


def make_transforms_golden():
    """`--only=transforms`: its own manifest-transforms.json, files prefixed TR_, d = 16: IndexPreTransform
    ("IxPT") files with the transforms Faiss 1.7.3 writes ("Pcam" PCAMatrix, "rrot" RandomRotationMatrix,
    "LTra" LinearTransform (OPQMatrix is written so), "VNrm" NormalizationTransform, "VCnt"
    CenteringTransform, "RmDT" RemapDimensionsTransform), built with Faiss's factory (TR_Center_Flat by
    hand) and trained on tr_train.npy, single-threaded.

    Per entry: <name>.faiss; the chain (fourcc, d_in, d_out per transform) and the sub-index's fourccs;
    Faiss's search results for tr_queries.npy (<name>.labels.npy / .distances.npy); the queries through
    the chain (<name>.xt.npy, Faiss's apply_chain); <name>.reconstruct.npy (reconstruct_n(0, 20)
    through the reversed chain) when Faiss can reverse the chain, else "reconstruct": null. "untrained" entries are
    written right after the factory, without training.
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(TRANSFORMS_SEED)
    d = 16
    # anisotropic clusters: a few directions carry most of the variance, so that PCA has a clear subspace
    scales = np.array([4.0, 3.0, 2.5, 2.0, 1.6, 1.3, 1.1, 1.0, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15, 0.1, 0.05])
    centres = 2 * rng.standard_normal((10, d)) * scales
    def sample(n):
        labels = rng.integers(0, len(centres), n)
        return (centres[labels] + rng.standard_normal((n, d)) * scales + 1.5).astype('float32')
    tr_train = sample(1000)
    tr_base = sample(300)
    tr_queries = sample(TRANSFORMS_NQ)
    ids = (np.arange(300, dtype='int64') * 7919 - 1000000)
    for name, a in {'tr_train.npy': tr_train, 'tr_base.npy': tr_base, 'tr_queries.npy': tr_queries, 'tr_ids.npy': ids}.items():
        np.save(os.path.join(out, name), a)

    def centering_flat():
        index = faiss.IndexPreTransform(faiss.CenteringTransform(d), faiss.IndexFlatL2(d))
        return index

    cases = [
        # name, description (or a builder), metric, nprobe of an IVF sub-index, add with ids, train
        ('TR_PCA8_Flat', 'PCA8,Flat', faiss.METRIC_L2, None, False, True),
        ('TR_PCAR8_IVF4_Flat', 'PCAR8,IVF4,Flat', faiss.METRIC_L2, 2, False, True),
        ('TR_PCAW8_Flat', 'PCAW8,Flat', faiss.METRIC_L2, None, False, True),
        ('TR_PCA8_SQ8', 'PCA8,SQ8', faiss.METRIC_L2, None, False, True),
        ('TR_OPQ4_8_PQ4', 'OPQ4_8,PQ4', faiss.METRIC_L2, None, False, True),
        ('TR_OPQ4_IVF4_PQ4_IP', 'OPQ4,IVF4,PQ4', faiss.METRIC_INNER_PRODUCT, 4, False, True),
        ('TR_L2norm_Flat_IP', 'L2norm,Flat', faiss.METRIC_INNER_PRODUCT, None, False, True),
        ('TR_L2norm_PCA8_Flat', 'L2norm,PCA8,Flat', faiss.METRIC_L2, None, False, True),
        ('TR_PCAR8_IDMap_Flat', 'PCAR8,IDMap,Flat', faiss.METRIC_L2, None, True, True),
        ('TR_RR16_Flat', 'RR16,Flat', faiss.METRIC_L2, None, False, True),
        ('TR_Pad20_Flat', 'Pad20,Flat', faiss.METRIC_L2, None, False, True),
        ('TR_Center_Flat', centering_flat, faiss.METRIC_L2, None, False, True),
        ('TR_PCA8_HNSW8', 'PCA8,HNSW8', faiss.METRIC_L2, None, False, True),
        ('TR_PCA8_untrained', 'PCA8,Flat', faiss.METRIC_L2, None, False, False),
        ('TR_OPQ4_8_untrained', 'OPQ4_8,IVF4,PQ4', faiss.METRIC_L2, None, False, False),
    ]
    entries = []
    keep = []  # the Python objects own the C++ indexes: keep them alive
    for name, desc, metric, nprobe, with_ids, train in cases:
        index = faiss.index_factory(d, desc, metric) if isinstance(desc, str) else desc()
        keep.append(index)
        index = faiss.downcast_index(index)
        sub = faiss.downcast_index(index.index)
        if train:
            index.train(tr_train)
            if with_ids:
                index.add_with_ids(tr_base, ids)
            else:
                index.add(tr_base)
        if nprobe is not None:
            sub.nprobe = nprobe
        file = name + '.faiss'
        path = os.path.join(out, file)
        faiss.write_index(index, path)
        chain = []
        for i in range(index.chain.size()):
            vt = faiss.downcast_VectorTransform(index.chain.at(i))
            chain.append({'type': type(vt).__name__, 'd_in': int(vt.d_in), 'd_out': int(vt.d_out), 'is_trained': bool(vt.is_trained)})
        entry = {
            'name': name, 'file': file, 'description': desc if isinstance(desc, str) else None,
            'd': int(index.d), 'ntotal': int(index.ntotal), 'metric_type': int(index.metric_type),
            'is_trained': bool(index.is_trained), 'chain': chain, 'sub_type': type(sub).__name__,
            'sub_d': int(sub.d), 'nprobe': nprobe, 'with_ids': with_ids,
            'bytes': os.path.getsize(path), 'train': 'tr_train.npy', 'base': 'tr_base.npy', 'queries': 'tr_queries.npy',
        }
        if train:
            xt = index.apply_chain(TRANSFORMS_NQ, faiss.swig_ptr(tr_queries))
            xt = faiss.rev_swig_ptr(xt, TRANSFORMS_NQ * sub.d).copy().reshape(TRANSFORMS_NQ, sub.d)
            np.save(os.path.join(out, name + '.xt.npy'), xt.astype('float32'))
            entry['xt'] = name + '.xt.npy'
            distances, labels = index.search(tr_queries, TRANSFORMS_K)
            np.save(os.path.join(out, name + '.labels.npy'), labels.astype('int64'))
            np.save(os.path.join(out, name + '.distances.npy'), distances.astype('float32'))
            entry['labels'] = name + '.labels.npy'
            entry['distances'] = name + '.distances.npy'
            entry['reconstruct'] = None
            if not with_ids:  # IndexIDMap has no reconstruct (Faiss aborts inside reconstruct_n)
                try:
                    rec = index.reconstruct_n(0, TRANSFORMS_NREC)
                    np.save(os.path.join(out, name + '.reconstruct.npy'), rec.astype('float32'))
                    entry['reconstruct'] = name + '.reconstruct.npy'
                except RuntimeError:
                    pass  # a chain Faiss cannot reverse (PCAW: not orthonormal)
        entries.append(entry)
    return {'seed': TRANSFORMS_SEED, 'k': TRANSFORMS_K, 'nq': TRANSFORMS_NQ, 'd': d, 'indexes': entries}


if '--only=transforms' in sys.argv[1:]:
    # Only the pre-transform files, in their own manifest-transforms.json: manifest.json and the other
    # sections' files stay as they are.
    with open(os.path.join(out, 'manifest-transforms.json'), 'w') as f:
        json.dump(make_transforms_golden(), f, indent=2)
        f.write('\n')
    sys.exit(0)

if '--only=refine' in sys.argv[1:]:
    # Only the refine and IVF-HNSW files, in their own manifest-refine.json: manifest.json and the other
    # sections' files stay as they are.
    with open(os.path.join(out, 'manifest-refine.json'), 'w') as f:
        json.dump(make_refine_golden(), f, indent=2)
        f.write('\n')
    sys.exit(0)

# ---------------------------------------------------------------------------------------------------
# On-disk inverted lists ("ilod" + a .ivfdata file): `--only=ondisk`, its own manifest-ondisk.json
# ---------------------------------------------------------------------------------------------------

ONDISK_SEED = 7373
ONDISK_K = 10
ONDISK_NQ = 8


def make_ondisk_golden():
    """The "ondisk" files: IVF indexes whose lists are Faiss's OnDiskInvertedLists, d = 16, nlist = 16.

    Per case, as Faiss's demo_ondisk_ivf.py builds them: <name>.trained.faiss (trained, empty), two
    shards <name>.shard0.faiss / .shard1.faiss (each the trained index plus one block of
    ondisk_base.npy, added with ids = the rows' numbers), then contrib.ondisk.merge_ondisk of the
    shards into <name>.ivfdata and <name>.faiss ("ilod" naming "<name>.ivfdata", a relative path: read
    it with IO_FLAG_ONDISK_SAME_DIR). Search results at nprobe 1, 4 and 16 for ondisk_queries.npy.
    "ondisk_IVF16_Flat_added": lists grown by add_with_ids into a new OnDiskInvertedLists, in two
    batches then a removal (Faiss's allocation: power-of-two capacities, slots).
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(ONDISK_SEED)
    d = 16
    centres = 3 * rng.standard_normal((12, d))
    xt = clustered(rng, 1000, d, centres, 1.0)
    xb = clustered(rng, 400, d, centres, 1.0)
    xq = clustered(rng, ONDISK_NQ, d, centres, 1.0)
    cwd = os.getcwd()
    os.chdir(out)  # relative data file names, as a user would give them
    try:
        for name, a in {'ondisk_train.npy': xt, 'ondisk_base.npy': xb, 'ondisk_queries.npy': xq}.items():
            np.save(name, a)
        entries = []

        def search_entry(index, name, entry):
            entry['search'] = []
            for nprobe in (1, 4, 16):
                index.nprobe = nprobe
                distances, labels = index.search(xq, ONDISK_K)
                stem = '%s.nprobe%d' % (name, nprobe)
                np.save(stem + '.labels.npy', labels.astype('int64'))
                np.save(stem + '.distances.npy', distances.astype('float32'))
                entry['search'].append({'nprobe': nprobe, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
            index.nprobe = 1

        for name, desc in [('ondisk_IVF16_Flat', 'IVF16,Flat'), ('ondisk_IVF16_PQ4', 'IVF16,PQ4')]:
            trained = faiss.index_factory(d, desc)
            trained.train(xt)
            faiss.write_index(trained, name + '.trained.faiss')
            shards = []
            for b, (i0, i1) in enumerate([(0, 250), (250, 400)]):
                shard = faiss.read_index(name + '.trained.faiss')
                shard.add_with_ids(xb[i0:i1], np.arange(i0, i1, dtype='int64'))
                faiss.write_index(shard, '%s.shard%d.faiss' % (name, b))
                shards.append('%s.shard%d.faiss' % (name, b))
            index = faiss.read_index(name + '.trained.faiss')
            merge_ondisk(index, shards, name + '.ivfdata')
            faiss.write_index(index, name + '.faiss')
            ivf = faiss.extract_index_ivf(index)
            od = faiss.downcast_InvertedLists(ivf.invlists)
            entry = {
                'name': name, 'description': desc, 'file': name + '.faiss', 'ivfdata': name + '.ivfdata',
                'trained': name + '.trained.faiss', 'shards': shards, 'd': d, 'ntotal': int(index.ntotal),
                'nlist': int(ivf.nlist), 'code_size': int(ivf.code_size), 'totsize': int(od.totsize),
                'list_sizes': [int(od.list_size(l)) for l in range(ivf.nlist)],
                'bytes': os.path.getsize(name + '.faiss'), 'ivfdata_bytes': os.path.getsize(name + '.ivfdata'),
                'base': 'ondisk_base.npy', 'queries': 'ondisk_queries.npy',
            }
            search_entry(index, name, entry)
            entries.append(entry)
            del index

        # Lists grown in place: a new OnDiskInvertedLists, two add_with_ids batches, then remove_ids.
        name = 'ondisk_IVF16_Flat_added'
        index = faiss.read_index('ondisk_IVF16_Flat.trained.faiss')
        invlists = faiss.OnDiskInvertedLists(index.nlist, index.code_size, name + '.ivfdata')
        index.replace_invlists(invlists, True)
        invlists.this.disown()
        index.add_with_ids(xb[:80], np.arange(0, 80, dtype='int64'))
        index.add_with_ids(xb[80:200], np.arange(80, 200, dtype='int64'))
        removed = index.remove_ids(faiss.IDSelectorRange(50, 150))
        faiss.write_index(index, name + '.faiss')
        od = faiss.downcast_InvertedLists(index.invlists)
        entry = {
            'name': name, 'file': name + '.faiss', 'ivfdata': name + '.ivfdata', 'trained': 'ondisk_IVF16_Flat.trained.faiss',
            'batches': [[0, 80], [80, 200]], 'removed_range': [50, 150], 'removed': int(removed),
            'd': d, 'ntotal': int(index.ntotal), 'nlist': int(index.nlist), 'code_size': int(index.code_size),
            'totsize': int(od.totsize), 'list_sizes': [int(od.list_size(l)) for l in range(index.nlist)],
            'bytes': os.path.getsize(name + '.faiss'), 'ivfdata_bytes': os.path.getsize(name + '.ivfdata'),
            'base': 'ondisk_base.npy', 'queries': 'ondisk_queries.npy',
        }
        search_entry(index, name, entry)
        entries.append(entry)
    finally:
        os.chdir(cwd)
    return {'faiss_version': faiss.__version__, 'seed': ONDISK_SEED, 'k': ONDISK_K, 'nq': ONDISK_NQ, 'indexes': entries}


if '--only=ondisk' in sys.argv[1:]:
    # Only the on-disk files, in their own manifest-ondisk.json: manifest.json and the other sections'
    # files stay as they are.
    from faiss.contrib.ondisk import merge_ondisk
    with open(os.path.join(out, 'manifest-ondisk.json'), 'w') as f:
        json.dump(make_ondisk_golden(), f, indent=2)
        f.write('\n')
    sys.exit(0)

# ---------------------------------------------------------------------------------------------------
# HNSW over SQ / PQ storage ("IHNs" IndexHNSWSQ, "IHNp" IndexHNSWPQ): `--only=hnswq`, its own
# manifest-hnswq.json, files prefixed HNSWQ_
# ---------------------------------------------------------------------------------------------------

HNSWQ_SEED = 6161
HNSWQ_K = 10
HNSWQ_NQ = 20


def make_hnswq_golden():
    """IndexHNSWSQ ("IHNs") and IndexHNSWPQ ("IHNp") files: d = 16, M = 8, efConstruction 40, trained
    on their base and built by Faiss single-threaded; <name>.base.npy / .queries.npy, Faiss's search
    results at efSearch 16 and 64 (<name>.ef<e>.labels.npy / .distances.npy) and its reconstruction of
    the first 20 vectors (<name>.recons.npy)."""
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(HNSWQ_SEED)
    d, M = 16, 8
    cases = [
        # name, storage kind, parameter (qtype or pq M), metric, n
        ('HNSWQ_SQ8_L2', 'SQ', faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2, 500),
        ('HNSWQ_SQ4_L2', 'SQ', faiss.ScalarQuantizer.QT_4bit, faiss.METRIC_L2, 400),
        ('HNSWQ_SQ8_IP', 'SQ', faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT, 400),
        ('HNSWQ_PQ4_L2', 'PQ', 4, faiss.METRIC_L2, 500),
    ]
    entries = []
    for name, kind, param, metric, n in cases:
        centres = rng.standard_normal((12, d)).astype('float32') * 3
        x = (centres[rng.integers(0, 12, n)] + rng.standard_normal((n, d)).astype('float32')).astype('float32')
        q = (centres[rng.integers(0, 12, HNSWQ_NQ)] + rng.standard_normal((HNSWQ_NQ, d)).astype('float32')).astype('float32')
        if kind == 'SQ':
            index = faiss.IndexHNSWSQ(d, param, M, metric)
        else:
            index = faiss.IndexHNSWPQ(d, param, M)
        index.hnsw.efConstruction = 40
        index.train(x)
        index.add(x)
        index.hnsw.efSearch = 16
        path = os.path.join(out, name + '.faiss')
        faiss.write_index(index, path)
        np.save(os.path.join(out, name + '.base.npy'), x)
        np.save(os.path.join(out, name + '.queries.npy'), q)
        np.save(os.path.join(out, name + '.recons.npy'), index.reconstruct_n(0, 20).astype('float32'))
        h = index.hnsw
        levels = faiss.vector_to_array(h.levels).astype('int32')
        entry = {
            'name': name, 'file': name + '.faiss', 'type': 'IndexHNSWSQ' if kind == 'SQ' else 'IndexHNSWPQ',
            'fourcc': 'IHNs' if kind == 'SQ' else 'IHNp', 'storage_fourcc': 'IxSQ' if kind == 'SQ' else 'IxPq',
            'd': d, 'M': M, 'ntotal': int(index.ntotal), 'metric_type': int(index.metric_type),
            'qtype': int(param) if kind == 'SQ' else None, 'pq_M': int(param) if kind == 'PQ' else None,
            'pq_nbits': 8 if kind == 'PQ' else None,
            'code_size': int(faiss.downcast_index(index.storage).code_size),
            'bytes': os.path.getsize(path),
            'entry_point': int(h.entry_point), 'max_level': int(h.max_level),
            'level_histogram': [int(v) for v in np.bincount(levels)[1:]],
            'base': name + '.base.npy', 'queries': name + '.queries.npy', 'recons': name + '.recons.npy',
            'search': [],
        }
        for ef in (16, 64):
            index.hnsw.efSearch = ef
            distances, labels = index.search(q, HNSWQ_K)
            stem = '%s.ef%d' % (name, ef)
            np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
            np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
            entry['search'].append({'efSearch': ef, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
        entries.append(entry)
    return {'seed': HNSWQ_SEED, 'k': HNSWQ_K, 'nq': HNSWQ_NQ, 'indexes': entries}


if '--only=hnswq' in sys.argv[1:]:
    # Only the HNSW SQ / PQ files, in their own manifest-hnswq.json: manifest.json and the other
    # sections' files stay as they are.
    with open(os.path.join(out, 'manifest-hnswq.json'), 'w') as f:
        json.dump(make_hnswq_golden(), f, indent=2)
        f.write('\n')
    sys.exit(0)

# ---------------------------------------------------------------------------------------------------
# 4-bit PQ FastScan (IndexPQFastScan "IPfs", IndexIVFPQFastScan "IwPf" with "ilbl" lists):
# `--only=fastscan`, its own manifest-fastscan.json
# ---------------------------------------------------------------------------------------------------

FASTSCAN_SEED = 4242
FASTSCAN_K = 10
FASTSCAN_NQ = 10


def make_fastscan_golden():
    """The "fastscan" files, d = 16, 300 base vectors (fastscan_base.npy), 10 queries
    (fastscan_queries.npy), built with Faiss's factory: flat (L2, IP, odd M, bbs 64, empty) and IVF
    (by_residual false / true, L2 / IP, bbs 64).

    Per entry: <name>.faiss; M, M2, bbs, code_size, ntotal2 (flat), nlist, nprobe, by_residual,
    list_sizes (IVF); <name>.codes.npy: the ordinary PQ codes (sa_encode of the base, in id order) for
    the flat indexes; search results for the queries (<name>.labels.npy / .distances.npy for flat,
    <name>.nprobe<p>.* at nprobe 1 and nlist for IVF), the queries searched one at a time (Faiss 1.7.3's
    batched IndexPQFastScan search fails with bbs = 64: "nq=4 bbs=64 not instantiated");
    <name>.reconstruct.npy where Faiss reconstructs right (not bbs = 64: its pq4_get_packed_element
    misplaces vectors 32..63 of each block).
    """
    faiss.omp_set_num_threads(1)
    rng = np.random.default_rng(FASTSCAN_SEED)
    d = 16
    centres = 3 * rng.standard_normal((10, d))
    train = clustered(rng, 1000, d, centres, 1.0)
    base = clustered(rng, 300, d, centres, 1.0)
    queries = clustered(rng, FASTSCAN_NQ, d, centres, 1.0)
    for name, a in {'fastscan_base.npy': base, 'fastscan_queries.npy': queries}.items():
        np.save(os.path.join(out, name), a)

    def search(index, bbs):
        if bbs == 32:
            return index.search(queries, FASTSCAN_K)
        res = [index.search(queries[i:i + 1], FASTSCAN_K) for i in range(FASTSCAN_NQ)]
        return np.concatenate([r[0] for r in res]), np.concatenate([r[1] for r in res])

    cases = [
        ('fs_PQ8x4fs', 'PQ8x4fs', faiss.METRIC_L2, 300),
        ('fs_PQ1x4fs', 'PQ1x4fs', faiss.METRIC_L2, 300),
        ('fs_PQ4x4fs_64_IP', 'PQ4x4fs_64', faiss.METRIC_INNER_PRODUCT, 300),
        ('fs_PQ8x4fs_empty', 'PQ8x4fs', faiss.METRIC_L2, 0),
        ('fs_IVF8_PQ8x4fs', 'IVF8,PQ8x4fs', faiss.METRIC_L2, 300),
        ('fs_IVF8_PQ4x4fsr', 'IVF8,PQ4x4fsr', faiss.METRIC_L2, 300),
        ('fs_IVF8_PQ8x4fsr_IP', 'IVF8,PQ8x4fsr', faiss.METRIC_INNER_PRODUCT, 300),
        ('fs_IVF4_PQ8x4fs_64', 'IVF4,PQ8x4fs_64', faiss.METRIC_L2, 300),
    ]
    entries = []
    for name, desc, metric, n in cases:
        index0 = faiss.index_factory(d, desc, metric)
        index0.train(train)
        if n > 0:
            index0.add(base[:n])
        index = faiss.downcast_index(index0)
        file = name + '.faiss'
        path = os.path.join(out, file)
        faiss.write_index(index0, path)
        is_ivf = isinstance(index, faiss.IndexIVF)
        bbs = int(index.bbs)
        entry = {
            'name': name, 'file': file, 'factory': desc, 'type': type(index).__name__,
            'fourccs': ['IwPf', 'ilbl'] if is_ivf else ['IPfs'],
            'd': index.d, 'ntotal': int(index.ntotal), 'metric_type': int(index.metric_type),
            'is_trained': bool(index.is_trained), 'M': int(index.M), 'M2': int(index.M2), 'bbs': bbs,
            'code_size': int(index.pq.code_size), 'bytes': os.path.getsize(path),
            'queries': 'fastscan_queries.npy', 'base': 'fastscan_base.npy',
        }
        if is_ivf:
            entry.update({'nlist': int(index.nlist), 'nprobe': int(index.nprobe), 'by_residual': bool(index.by_residual)})
            entry['list_sizes'] = [int(index.invlists.list_size(l)) for l in range(index.nlist)]
            entry['search'] = []
            for nprobe in sorted({1, int(index.nlist)}):
                index.nprobe = nprobe
                distances, labels = search(index, bbs)
                stem = '%s.nprobe%d' % (name, nprobe)
                np.save(os.path.join(out, stem + '.labels.npy'), labels.astype('int64'))
                np.save(os.path.join(out, stem + '.distances.npy'), distances.astype('float32'))
                entry['search'].append({'nprobe': nprobe, 'labels': stem + '.labels.npy', 'distances': stem + '.distances.npy'})
            index.nprobe = entry['nprobe']
        else:
            entry['ntotal2'] = int(index.ntotal2)
            codes = index.pq.compute_codes(base[:n]) if n > 0 else np.zeros((0, index.pq.code_size), dtype='uint8')
            np.save(os.path.join(out, name + '.codes.npy'), codes.astype('uint8'))
            entry['codes'] = name + '.codes.npy'
            distances, labels = search(index, bbs)
            np.save(os.path.join(out, name + '.labels.npy'), labels.astype('int64'))
            np.save(os.path.join(out, name + '.distances.npy'), distances.astype('float32'))
            entry['labels'] = name + '.labels.npy'
            entry['distances'] = name + '.distances.npy'
        if bbs == 32 and n > 0:
            if is_ivf:
                index.make_direct_map()
            rec = index.reconstruct_n(0, index.ntotal)
            if is_ivf:
                index.set_direct_map_type(faiss.DirectMap.NoMap)
            entry['reconstruct'] = name + '.reconstruct.npy'
            np.save(os.path.join(out, entry['reconstruct']), rec.astype('float32'))
        entries.append(entry)
    return {'seed': FASTSCAN_SEED, 'k': FASTSCAN_K, 'nq': FASTSCAN_NQ, 'd': d, 'indexes': entries}


if '--only=fastscan' in sys.argv[1:]:
    # Only the FastScan files, in their own manifest-fastscan.json: manifest.json and the other
    # sections' files stay as they are.
    with open(os.path.join(out, 'manifest-fastscan.json'), 'w') as f:
        json.dump(make_fastscan_golden(), f, indent=2)
        f.write('\n')
    sys.exit(0)

if '--only=pq' in sys.argv[1:]:
    # Only the "pq" section: the other golden files and the manifest's other sections stay as they are.
    with open(os.path.join(out, 'manifest.json')) as f:
        manifest = json.load(f)
    manifest['pq'] = make_pq_golden()
elif '--only=hnsw' in sys.argv[1:]:
    # Only the "hnsw" section: the other golden files and the manifest's other sections stay as they are.
    with open(os.path.join(out, 'manifest.json')) as f:
        manifest = json.load(f)
    manifest['hnsw'] = make_hnsw_golden()
else:
    if '--only=sq' in sys.argv[1:]:
        # Only the "sq" section: the other golden files and the manifest's other sections stay as they are.
        with open(os.path.join(out, 'manifest.json')) as f:
            manifest = json.load(f)
    else:
        manifest['ivf'] = make_ivf_golden()
        manifest['hnsw'] = make_hnsw_golden()
        manifest['pq'] = make_pq_golden()
    manifest['sq'] = make_sq_golden()

with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=2)
    f.write('\n')

total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
print(f'wrote {len(os.listdir(out))} files, {total} bytes, to {os.path.relpath(out, root)}', file=sys.stderr)
