/**
 * @module bench/peers/hnswlib
 * hnswlib-node beside simdex's HNSW rows in `simdex bench`. hnswlib-node is optional: it is loaded
 * with a guarded `import()`, and its rows are skipped (with the reason) when it is not installed.
 *
 * Mapping: factory `HNSW<M>` or `HNSW<M>,Flat` -> `initIndex(n, M, efConstruction)`; search parameter
 * `efSearch` -> `setEf`. hnswlib-node takes number[] only, so vectors are converted one at a time,
 * and that conversion is part of its measured times (as it is for its users). One thread.
 */

/** The part of hnswlib-node's API used here. */
interface HierarchicalNSW {
  initIndex(maxElements: number, m?: number, efConstruction?: number, randomSeed?: number): void;
  addPoint(point: number[], label: number): void;
  setEf(ef: number): void;
  searchKnn(query: number[], k: number): { distances: number[]; neighbors: number[] };
  getCurrentCount(): number;
}
interface HnswlibModule {
  HierarchicalNSW: new (space: 'l2' | 'ip' | 'cosine', d: number) => HierarchicalNSW;
}

/**
 * Where peers are resolved from: `$SIMDEX_PEERS_DIR` (a folder with its own node_modules, so that a
 * peer with a native build stays out of simdex's dependencies), else simdex's own location.
 */
function peerBase(): string {
  const dir = typeof process !== 'undefined' ? process.env['SIMDEX_PEERS_DIR'] : undefined;
  return dir ? `${dir.replace(/\/$/, '')}/package.json` : import.meta.url;
}

/** import() of a peer package, from $SIMDEX_PEERS_DIR when set (peers are CommonJS or ESM). */
async function importPeer(name: string): Promise<unknown> {
  if (peerBase() === import.meta.url) return import(name);
  const { createRequire } = await import('node:module');
  const { pathToFileURL } = await import('node:url');
  return import(pathToFileURL(createRequire(peerBase()).resolve(name)).href);
}

/** Loads hnswlib-node, or says why it cannot. */
export async function loadHnswlib(): Promise<{ ok: true; module: HnswlibModule; version: string } | { ok: false; reason: string }> {
  try {
    const name = 'hnswlib-node';
    const mod = (await importPeer(name)) as Partial<HnswlibModule> & { default?: Partial<HnswlibModule> };
    const ctor = mod.HierarchicalNSW ?? mod.default?.HierarchicalNSW;
    if (ctor === undefined) return { ok: false, reason: 'hnswlib-node has no HierarchicalNSW export' };
    let version = 'unknown';
    try {
      const { createRequire } = await import('node:module');
      version = (createRequire(peerBase())(`${name}/package.json`) as { version: string }).version;
    } catch {
      // version unknown
    }
    return { ok: true, module: { HierarchicalNSW: ctor }, version };
  } catch (e) {
    return { ok: false, reason: `hnswlib-node is not installed (${(e as Error).message.split('\n')[0]})` };
  }
}

/** The HNSW parameters of a factory string hnswlib can build (HNSW<M> with flat storage), else undefined. */
export function hnswlibSpec(factory: string): { M: number } | undefined {
  const m = factory.replace(/\s+/g, '').match(/^(?:IDMap2?,)?HNSW([0-9]*)(?:[,_]Flat)?(?:,IDMap2?)?$/);
  if (m === null) return undefined;
  return { M: m[1] ? Number(m[1]) : 32 };
}

export interface HnswlibRunRequest {
  module: HnswlibModule;
  base: Float32Array;
  queries: Float32Array;
  d: number;
  metric: 'L2' | 'IP';
  M: number;
  efConstruction: number;
  /** efSearch values to measure (one row each); [] measures hnswlib's default ef (10). */
  efSearch: number[];
  k: number;
  kRecall: number;
  single: number;
  singleSeconds: number;
  onProgress?(stage: string, done: number, total: number): void;
}

export interface HnswlibRow {
  params: string;
  addSeconds: number;
  rssDeltaBytes: number;
  batchSeconds: number;
  labels: BigInt64Array;
  labelsRecall?: BigInt64Array;
  singleLatencies: number[];
}

/** Builds one hnswlib index and measures it at each efSearch. */
export function runHnswlib(req: HnswlibRunRequest): HnswlibRow[] {
  const { d, k, kRecall } = req;
  const n = req.base.length / d;
  const nq = req.queries.length / d;
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  const index = new req.module.HierarchicalNSW(req.metric === 'IP' ? 'ip' : 'l2', d);
  index.initIndex(n, req.M, req.efConstruction, 100);
  for (let i = 0; i < n; i++) {
    index.addPoint(Array.from(req.base.subarray(i * d, (i + 1) * d)), i);
    if ((i & 4095) === 4095 || i === n - 1) req.onProgress?.('hnswlib add', i + 1, n);
  }
  const addSeconds = (performance.now() - t0) / 1000;
  const rssDeltaBytes = process.memoryUsage().rss - rss0;
  // Nearest first (hnswlib's distances are smaller-is-closer for 'l2' and 'ip' alike).
  const query = (i: number, kk: number): number[] => {
    const r = index.searchKnn(Array.from(req.queries.subarray(i * d, (i + 1) * d)), Math.min(kk, n));
    const order = r.neighbors.map((_, j) => j).sort((a, b) => r.distances[a]! - r.distances[b]!);
    return order.map((j) => r.neighbors[j]!);
  };
  const rows: HnswlibRow[] = [];
  for (const ef of req.efSearch.length > 0 ? req.efSearch : [undefined]) {
    if (ef !== undefined) index.setEf(ef);
    const labels = new BigInt64Array(nq * k).fill(-1n);
    const tb = performance.now();
    for (let i = 0; i < nq; i++) {
      const nb = query(i, k);
      for (let j = 0; j < nb.length; j++) labels[i * k + j] = BigInt(nb[j]!);
    }
    const batchSeconds = (performance.now() - tb) / 1000;
    let labelsRecall: BigInt64Array | undefined;
    if (kRecall > 0) {
      labelsRecall = new BigInt64Array(nq * kRecall).fill(-1n);
      for (let i = 0; i < nq; i++) {
        const nb = query(i, kRecall);
        for (let j = 0; j < nb.length; j++) labelsRecall[i * kRecall + j] = BigInt(nb[j]!);
      }
    }
    const singleLatencies: number[] = [];
    const start = performance.now();
    for (let i = 0; i < Math.min(req.single, nq); i++) {
      const t = performance.now();
      query(i, k);
      singleLatencies.push((performance.now() - t) / 1000);
      if ((performance.now() - start) / 1000 > req.singleSeconds && singleLatencies.length >= 5) break;
    }
    rows.push({ params: ef !== undefined ? `efSearch=${ef}` : '', addSeconds, rssDeltaBytes, batchSeconds, labels, labelsRecall, singleLatencies });
  }
  return rows;
}
