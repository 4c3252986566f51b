#!/usr/bin/python3
"""Writes the golden Faiss files the tests of src/io/faiss read (test/golden/faiss-<version>/).

Run with the system Python that has Faiss: /usr/bin/python3 scripts/make-faiss-golden.py
Seeded: running it again with the same Faiss and numpy writes the same bytes.

For each index it writes <name>.faiss (faiss.write_index), <name>.labels.npy (int64, nq x k) and
<name>.distances.npy (float32, nq x k): Faiss's own search results for queries.npy. base.npy holds the
vectors added to every index, ids.npy the ids given to the IndexIDMap variants, manifest.json what
each file is.
"""
import json
import os
import sys

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

with open(os.path.join(out, 'manifest.json'), 'w') as f:
    json.dump(manifest, f, indent=2)
    f.write('\n')

total = sum(os.path.getsize(os.path.join(out, x)) for x in os.listdir(out))
print(f'wrote {len(os.listdir(out))} files, {total} bytes, to {os.path.relpath(out, root)}', file=sys.stderr)
