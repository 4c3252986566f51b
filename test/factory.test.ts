/**
 * @module test/factory
 * indexFactory and reverseIndexFactory: the supported descriptions build the right classes with the
 * right d and metric; spaces are ignored; Faiss tokens not implemented yet and invalid tokens fail
 * with a FactoryParseError naming the token and the description; factory -> index -> string round trips.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { FactoryParseError, NotSupportedError } from '../src/errors.js';
import { indexFactory, reverseIndexFactory } from '../src/factory/indexFactory.js';
import { Index, type SearchResult } from '../src/Index.js';
import { IndexFlat } from '../src/indexes/IndexFlat.js';
import { IndexIDMap, IndexIDMap2 } from '../src/indexes/IndexIDMap.js';
import { MetricType } from '../src/MetricType.js';
import { IndexIVFFlat } from '../src/indexes/ivf/IndexIVFFlat.js';
import { IndexIVFScalarQuantizer } from '../src/indexes/ivf/IndexIVFScalarQuantizer.js';
import { IndexScalarQuantizer } from '../src/indexes/IndexScalarQuantizer.js';
import { IndexHNSWFlat } from '../src/indexes/hnsw/IndexHNSWFlat.js';
import { QuantizerType } from '../src/quantizers/ScalarQuantizer.js';
import { IndexPQ } from '../src/indexes/IndexPQ.js';
import { IndexIVFPQ } from '../src/indexes/ivf/IndexIVFPQ.js';
import { IndexPreTransform } from '../src/indexes/IndexPreTransform.js';
import { PCAMatrix } from '../src/transforms/PCAMatrix.js';
import { OPQMatrix } from '../src/transforms/OPQMatrix.js';
import { NormalizationTransform } from '../src/transforms/NormalizationTransform.js';

function expectParseError(description: string, token: string, reason: RegExp): void {
  assert.throws(
    () => indexFactory(16, description),
    (e: unknown) => {
      assert.ok(e instanceof FactoryParseError, `expected FactoryParseError, got ${String(e)}`);
      assert.equal(e.token, token);
      assert.equal(e.description, description);
      assert.equal(e.code, 'ERR_SIMDEX_FACTORY');
      assert.match(e.message, reason);
      assert.ok(e.message.includes(`"${token}"`), e.message);
      assert.ok(e.message.includes(`"${description}"`), e.message);
      return true;
    },
  );
}

describe('indexFactory: supported descriptions', () => {
  test('Flat builds IndexFlat with d and metric', () => {
    const l2 = indexFactory(12, 'Flat');
    assert.ok(l2 instanceof IndexFlat);
    assert.equal(l2.d, 12);
    assert.equal(l2.metricType, MetricType.L2);
    const ip = indexFactory(12, 'Flat', MetricType.INNER_PRODUCT);
    assert.equal(ip.metricType, MetricType.INNER_PRODUCT);
    l2.dispose();
    ip.dispose();
  });

  test('IDMap and IDMap2 as prefix or suffix wrap a Flat index', () => {
    for (const [desc, cls] of [
      ['IDMap,Flat', IndexIDMap],
      ['Flat,IDMap', IndexIDMap],
      ['IDMap2,Flat', IndexIDMap2],
      ['Flat,IDMap2', IndexIDMap2],
    ] as const) {
      const index = indexFactory(8, desc, MetricType.INNER_PRODUCT);
      assert.equal(index.constructor, cls, desc);
      const sub = (index as IndexIDMap).index;
      assert.ok(sub instanceof IndexFlat, desc);
      assert.equal(sub.d, 8);
      assert.equal(index.metricType, MetricType.INNER_PRODUCT);
      assert.equal(sub.metricType, MetricType.INNER_PRODUCT);
      index.dispose();
    }
  });

  test('spaces around tokens are ignored', () => {
    assert.ok(indexFactory(4, '  Flat ') instanceof IndexFlat);
    const idmap = indexFactory(4, ' IDMap2 ,  Flat ');
    assert.ok(idmap instanceof IndexIDMap2);
    assert.equal(reverseIndexFactory(idmap), 'IDMap2,Flat');
  });

  test('the built indexes work: IDMap,Flat returns the ids given', () => {
    const index = indexFactory(2, 'IDMap,Flat');
    index.addWithIds(new Float32Array([0, 0, 1, 1, 5, 5]), new BigInt64Array([100n, 200n, 300n]));
    const r: SearchResult = index.search(new Float32Array([0.9, 0.9]), 2);
    assert.deepEqual([...r.labels], [200n, 100n]);
    index.dispose();
  });

  test('bad d is an InvalidArgumentError, not a parse error', () => {
    assert.throws(() => indexFactory(0, 'Flat'), /`d` must be a positive integer/);
  });
});

describe('indexFactory: errors', () => {
  test('Faiss tokens not implemented yet', () => {
    expectParseError('IVF1024_NSG32,Flat', 'IVF1024_NSG32', /Faiss token \(IndexIVF \(IndexNSGFlat quantizer\)\).*not implemented yet/);
    expectParseError('HNSW32_2x8+PQ16', 'HNSW32_2x8+PQ16', /IndexHNSW2Level.*not implemented yet/);
    expectParseError('SQbf16', 'SQbf16', /not implemented yet/);
    expectParseError('ITQ64,Flat', 'ITQ64', /ITQTransform.*not implemented yet/);
    expectParseError('PCA8,ITQ,Flat', 'ITQ', /ITQTransform.*not implemented yet/);
    expectParseError('MinMax,Flat', 'MinMax', /IndexRowwiseMinMax.*not implemented yet/);
    expectParseError('IDMap,HNSW32_16+PQ8', 'HNSW32_16+PQ8', /not implemented yet/);
    expectParseError('LSH', 'LSH', /IndexLSH/);
  });

  test('invalid tokens', () => {
    expectParseError('Foo', 'Foo', /is not a valid token/);
    expectParseError('IDMap,Bar', 'Bar', /is not a valid token/);
    expectParseError('Flat,Flat2', 'Flat2', /is not a valid token/);
    expectParseError('IVF1024,Fla', 'Fla', /not a valid IVF code/);
    expectParseError('IVFx,Flat', 'IVFx', /is not a valid token/);
  });

  test('tokens are case-sensitive, with a hint', () => {
    expectParseError('flat', 'flat', /not a valid token \(tokens are case-sensitive: did you mean "Flat"\?\)/);
    expectParseError('idmap,Flat', 'idmap', /did you mean "IDMap"/);
  });

  test('misplaced tokens', () => {
    expectParseError('Flat,Flat', 'Flat', /cannot follow "Flat", which is a complete index/);
    expectParseError('IDMap', 'IDMap', /is a wrapper and needs an index/);
    expectParseError('PCA32', 'PCA32', /pre-transform and must be followed by an index/);
    expectParseError('IVF100', 'IVF100', /coarse quantizer and must be followed by a code/);
  });

  test('empty and non-string descriptions', () => {
    expectParseError('', '', /is empty/);
    expectParseError('   ', '', /is empty/);
    assert.throws(() => indexFactory(4, 42 as unknown as string), FactoryParseError);
  });
});

describe('reverseIndexFactory', () => {
  test('round trips: string -> index -> string', () => {
    for (const desc of ['Flat', 'IDMap,Flat', 'IDMap2,Flat']) {
      for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
        const index = indexFactory(6, desc, metric);
        assert.equal(reverseIndexFactory(index), desc);
        const again = indexFactory(index.d, reverseIndexFactory(index), index.metricType);
        assert.equal(again.constructor, index.constructor);
        assert.equal(again.metricType, metric);
        index.dispose();
        again.dispose();
      }
    }
  });

  test('suffix forms come back in prefix form', () => {
    assert.equal(reverseIndexFactory(indexFactory(3, 'Flat,IDMap')), 'IDMap,Flat');
  });

  test('index types without a description are a NotSupportedError', () => {
    class Custom extends Index {
      add(): void {}
      search(): SearchResult {
        return { distances: new Float32Array(0), labels: new BigInt64Array(0) };
      }
      reset(): void {}
    }
    assert.throws(() => reverseIndexFactory(new Custom(4)), NotSupportedError);
    assert.throws(() => reverseIndexFactory(new IndexIDMap(new Custom(4))), /reverseIndexFactory is not supported by Custom/);
  });
});

describe('indexFactory: IVF, SQ and HNSW', () => {
  test('each description builds the Faiss class with its parameters, and reverseIndexFactory gives it back', () => {
    const rows: [string, string, (i: Index) => void][] = [
      ['IVF1024,Flat', 'IVF1024,Flat', (i) => assert.ok(i instanceof IndexIVFFlat && i.nlist === 1024 && !i.isTrained)],
      ['IVF64k,Flat', 'IVF65536,Flat', (i) => assert.ok(i instanceof IndexIVFFlat && i.nlist === 65536)],
      ['IVF256,SQ8', 'IVF256,SQ8', (i) => assert.ok(i instanceof IndexIVFScalarQuantizer && i.sq.qtype === QuantizerType.QT_8bit)],
      ['IVF16,SQfp16', 'IVF16,SQfp16', (i) => assert.ok(i instanceof IndexIVFScalarQuantizer && i.sq.qtype === QuantizerType.QT_fp16)],
      ['SQ4', 'SQ4', (i) => assert.ok(i instanceof IndexScalarQuantizer && i.sq.qtype === QuantizerType.QT_4bit)],
      ['SQ6', 'SQ6', (i) => assert.ok(i instanceof IndexScalarQuantizer && i.sq.qtype === QuantizerType.QT_6bit)],
      ['HNSW32', 'HNSW32', (i) => assert.ok(i instanceof IndexHNSWFlat && i.hnsw.M === 32)],
      ['PQ8', 'PQ8', (i) => assert.ok(i instanceof IndexPQ && i.pq.M === 8 && i.pq.nbits === 8)],
      ['PQ4x6', 'PQ4x6', (i) => assert.ok(i instanceof IndexPQ && i.pq.M === 4 && i.pq.nbits === 6)],
      ['IVF32,PQ8', 'IVF32,PQ8', (i) => assert.ok(i instanceof IndexIVFPQ && i.nlist === 32 && i.pq.M === 8)],
      ['IVF32,PQ4x4np', 'IVF32,PQ4x4', (i) => assert.ok(i instanceof IndexIVFPQ && i.pq.nbits === 4)],
      ['HNSW16,Flat', 'HNSW16', (i) => assert.ok(i instanceof IndexHNSWFlat && i.hnsw.M === 16)],
      ['HNSW', 'HNSW32', (i) => assert.ok(i instanceof IndexHNSWFlat && i.hnsw.M === 32)],
      ['IDMap,IVF64,Flat', 'IDMap,IVF64,Flat', (i) => assert.ok(i instanceof IndexIDMap && i.index instanceof IndexIVFFlat)],
      ['IDMap2,HNSW8', 'IDMap2,HNSW8', (i) => assert.ok(i instanceof IndexIDMap2 && i.index instanceof IndexHNSWFlat)],
      ['PCA8,Flat', 'PCA8,Flat', (i) => assert.ok(i instanceof IndexPreTransform && i.chain[0] instanceof PCAMatrix && i.index.d === 8)],
      ['PCAR8,IVF64,Flat', 'PCAR8,IVF64,Flat', (i) => assert.ok(i instanceof IndexPreTransform && (i.chain[0] as PCAMatrix).randomRotation && i.index instanceof IndexIVFFlat)],
      ['PCAW8,Flat', 'PCAW8,Flat', (i) => assert.ok(i instanceof IndexPreTransform && (i.chain[0] as PCAMatrix).eigenPower === -0.5)],
      ['OPQ4_8,IVF32,PQ4', 'OPQ4_8,IVF32,PQ4', (i) => assert.ok(i instanceof IndexPreTransform && i.chain[0] instanceof OPQMatrix && i.index instanceof IndexIVFPQ && i.index.d === 8)],
      ['OPQ4,PQ4', 'OPQ4_16,PQ4', (i) => assert.ok(i instanceof IndexPreTransform && i.chain[0]!.dOut === 16)],
      ['L2norm,Flat', 'L2norm,Flat', (i) => assert.ok(i instanceof IndexPreTransform && i.chain[0] instanceof NormalizationTransform)],
      ['PCAR8,IDMap,Flat', 'PCAR8,IDMap,Flat', (i) => assert.ok(i instanceof IndexPreTransform && i.index instanceof IndexIDMap)],
      ['PCA8,Flat,IDMap', 'PCA8,IDMap,Flat', (i) => assert.ok(i instanceof IndexPreTransform && i.index instanceof IndexIDMap)],
      ['RR,Flat', 'RR16,Flat', (i) => assert.ok(i instanceof IndexPreTransform && i.chain[0]!.dOut === 16)],
    ];
    for (const metric of [MetricType.L2, MetricType.INNER_PRODUCT]) {
      for (const [desc, reverse, check] of rows) {
        const index = indexFactory(16, desc, metric);
        check(index);
        assert.equal(index.metricType, metric, desc);
        assert.equal(reverseIndexFactory(index), reverse, desc);
        // the string builds an equivalent index again
        const again = indexFactory(16, reverseIndexFactory(index), metric);
        assert.equal(again.constructor, index.constructor, desc);
        assert.equal(reverseIndexFactory(again), reverse);
        index.dispose();
        again.dispose();
      }
    }
  });

  test('an IVF built by the factory trains, adds and searches', () => {
    const d = 8;
    const n = 2000;
    const x = new Float32Array(n * d);
    let s = 7;
    for (let i = 0; i < x.length; i++) x[i] = ((s = (s * 16807) % 2147483647) / 2147483647) + (i % (d * 5) < d ? 3 : 0);
    const index = indexFactory(d, 'IVF16,Flat');
    assert.ok(index instanceof IndexIVFFlat);
    index.train(x);
    index.add(x);
    const r = index.search(x.subarray(0, d), 1, { nprobe: 16 });
    assert.equal(r.labels[0], 0n);
    index.dispose();
  });
});
