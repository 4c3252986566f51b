#!/usr/bin/env python3
"""Python Faiss side of `simdex bench` (src/bench/peers/faiss.ts spawns it).

Reads a JSON config (path given as the only argument), builds each index with faiss.index_factory,
trains (a sub-second training: the median of five, the other four right after the first, as
simdex's) and adds, then searches with each applicable parameter set: one timed batch of all queries
at k (a sub-second one: the median of three, after a warm-up of 256 queries, as simdex's), one
untimed batch at k_recall (for recall@100), and single queries one at a time. Labels are
saved as .npy files next to the data; recall is computed by the caller against its own ground truth,
so that both libraries are scored by the same code. Prints one JSON object on stdout.

Config keys:
  base, query, train (optional): .npy float32 files, shape (n, d)
  out_dir: where to write the label files
  metric: "L2" or "IP"
  threads: OpenMP threads (the caller also sets OMP_NUM_THREADS and OPENBLAS_NUM_THREADS)
  k, k_recall: ks of the timed and the recall searches
  single: at most this many single-query searches; single_seconds: time budget for them
  runs: [{"factory": "IVF1024,Flat", "params": ["nprobe=1", "nprobe=16"]}]
  ef_construction (optional): efConstruction of HNSW graphs, set before adding
"""
import json
import os
import re
import resource
import sys
import time
import traceback


def short_error(e):
    """The last line of a Faiss exception, without its "Error in <function> at <file>:<line>: " prefix."""
    text = str(e).strip()
    if not text:
        return repr(e)
    line = text.splitlines()[-1]
    return re.sub(r"^Error in .*? at \S+:\d+: ", "", line)


def set_ef_construction(faiss, index, ef):
    """Sets hnsw.efConstruction on an HNSW index, or on the one inside an IDMap."""
    cur = faiss.downcast_index(index)
    for _ in range(3):
        if hasattr(cur, "hnsw"):
            cur.hnsw.efConstruction = ef
            return
        if not hasattr(cur, "index"):
            return
        cur = faiss.downcast_index(cur.index)


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def blas_library():
    """The BLAS library mapped into this process (Faiss's batch search runs in its sgemm)."""
    names = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1]
                base = os.path.basename(path)
                if any(t in base for t in ("blas", "mkl_rt", "libmkl", "blis", "atlas")):
                    names.add(os.path.realpath(path))
    except OSError:
        pass
    return ", ".join(sorted(names)) or "unknown"


def main():
    with open(sys.argv[1]) as f:
        cfg = json.load(f)
    import numpy as np
    import faiss

    threads = int(cfg.get("threads", 1))
    faiss.omp_set_num_threads(threads)
    # Read into memory (not memory-mapped: mapped pages would count in the RSS deltas below).
    xb = np.ascontiguousarray(np.load(cfg["base"]), dtype="float32")
    xq = np.ascontiguousarray(np.load(cfg["query"]), dtype="float32")
    xt = np.ascontiguousarray(np.load(cfg["train"]), dtype="float32") if cfg.get("train") else None
    n, d = xb.shape
    metric = faiss.METRIC_INNER_PRODUCT if cfg.get("metric") == "IP" else faiss.METRIC_L2
    k = int(cfg.get("k", 10))
    k_recall = int(cfg.get("k_recall", 0))
    single = int(cfg.get("single", 200))
    single_seconds = float(cfg.get("single_seconds", 20))
    out_dir = cfg["out_dir"]
    rows = []

    for ri, run in enumerate(cfg["runs"]):
        factory = run["factory"]
        base_row = {"factory": factory}
        try:
            rss0 = rss_bytes()
            t0 = time.perf_counter()
            index = faiss.index_factory(d, factory, metric)
            if cfg.get("ef_construction"):
                set_ef_construction(faiss, index, int(cfg["ef_construction"]))
            train_s = 0.0
            if not index.is_trained:
                t = time.perf_counter()
                index.train(xt if xt is not None else xb)
                train_s = time.perf_counter() - t
                if train_s < 1:
                    # a sub-second training: the median of five, the other four right after the first
                    # (simdex's bench does the same; the machine is shared and noisy)
                    times = [train_s]
                    for _ in range(4):
                        again = faiss.index_factory(d, factory, metric)
                        t = time.perf_counter()
                        again.train(xt if xt is not None else xb)
                        times.append(time.perf_counter() - t)
                        del again
                    train_s = sorted(times)[2]
            t = time.perf_counter()
            if "IDMap" in type(index).__name__:
                index.add_with_ids(xb, np.arange(n, dtype="int64"))
            else:
                index.add(xb)
            add_s = time.perf_counter() - t
            build_s = time.perf_counter() - t0
            rss1 = rss_bytes()
            try:
                index_bytes = int(faiss.serialize_index(index).size)
            except Exception:
                index_bytes = None
            base_row.update(
                trainSeconds=train_s,
                addSeconds=add_s,
                buildSeconds=build_s,
                rssDeltaBytes=rss1 - rss0,
                indexBytes=index_bytes,
            )
        except Exception as e:
            rows.append(dict(base_row, params="", error=short_error(e)))
            continue

        ps = faiss.ParameterSpace()
        param_sets = []
        for p in run.get("params") or []:
            try:
                ps.set_index_parameters(index, p)
                param_sets.append(p)
            except Exception:
                pass  # not a parameter of this index type
        if not param_sets:
            param_sets = [""]
        for pi, p in enumerate(param_sets):
            row = dict(base_row, params=p)
            try:
                if p:
                    ps.set_index_parameters(index, p)
                index.search(xq[:256], k)  # warm-up, as simdex's
                t = time.perf_counter()
                D, I = index.search(xq, k)
                batch_s = time.perf_counter() - t
                if batch_s < 1:
                    # a sub-second batch: the median of three (the machine is shared and noisy), as simdex's
                    times = [batch_s]
                    for _ in range(2):
                        t = time.perf_counter()
                        index.search(xq, k)
                        times.append(time.perf_counter() - t)
                    batch_s = sorted(times)[1]
                stem = os.path.join(out_dir, f"faiss_{ri}_{pi}")
                np.save(stem + "_k.npy", I.astype("int64"))
                row.update(batchSeconds=batch_s, labelsFile=stem + "_k.npy")
                if k_recall > 0:
                    _, I2 = index.search(xq, k_recall)
                    np.save(stem + "_kr.npy", I2.astype("int64"))
                    row["labelsRecallFile"] = stem + "_kr.npy"
                for i in range(min(10, xq.shape[0])):  # warm-up of the one-query path
                    index.search(xq[i : i + 1], k)
                lat = []
                start = time.perf_counter()
                for i in range(min(single, xq.shape[0])):
                    t = time.perf_counter()
                    index.search(xq[i : i + 1], k)
                    lat.append(time.perf_counter() - t)
                    if time.perf_counter() - start > single_seconds and len(lat) >= 5:
                        break
                row["singleLatencies"] = lat
            except Exception as e:
                row["error"] = short_error(e)
            rows.append(row)
        del index

    print(
        json.dumps(
            {
                "library": "faiss",
                "version": faiss.__version__,
                "blas": blas_library(),
                "numpy": np.__version__,
                "threads": threads,
                "ompMaxThreads": faiss.omp_get_max_threads(),
                "ompWaitPolicy": os.environ.get("OMP_WAIT_POLICY"),
                "rows": rows,
            }
        )
    )


if __name__ == "__main__":
    try:
        main()
    except Exception:
        traceback.print_exc()
        sys.exit(1)
