/** Runs Python Faiss (Debian's python3-faiss) from tests; skip when it is not installed. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeNpy, encodeNpy } from '../../src/io/npy.js';

export const PYTHON = '/usr/bin/python3';

let available: boolean | undefined;
/** True when `/usr/bin/python3 -c 'import faiss, numpy'` works. */
export function faissAvailable(): boolean {
  available ??= spawnSync(PYTHON, ['-c', 'import faiss, numpy'], { stdio: 'ignore' }).status === 0;
  return available;
}

/**
 * Runs a Python script with arrays passed as .npy files: `inputs` become variables named after their
 * keys (numpy arrays), and the script stores its outputs in the dict `out` (numpy arrays).
 */
export function runFaiss(script: string, inputs: Record<string, { data: Float32Array | BigInt64Array | Int32Array; shape: number[] }>): Record<string, Float32Array | BigInt64Array | Int32Array | Float64Array> {
  const dir = mkdtempSync(join(tmpdir(), 'simdex-faiss-'));
  try {
    const loads = Object.entries(inputs).map(([name, v]) => {
      writeFileSync(join(dir, `${name}.npy`), encodeNpy(v.data, v.shape));
      return `${name} = np.load(${JSON.stringify(join(dir, `${name}.npy`))})`;
    });
    const code = [
      'import faiss, numpy as np, json, os',
      'faiss.omp_set_num_threads(1)',
      ...loads,
      'out = {}',
      script,
      `for key, v in out.items(): np.save(os.path.join(${JSON.stringify(dir)}, 'out_' + key + '.npy'), np.ascontiguousarray(v))`,
      `print(json.dumps(list(out.keys())))`,
    ].join('\n');
    const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', env: { ...process.env, OPENBLAS_NUM_THREADS: '1' } });
    if (r.status !== 0) throw new Error(`python faiss failed: ${r.stderr}`);
    const keys = JSON.parse(r.stdout.trim().split('\n').pop()!) as string[];
    const res: Record<string, Float32Array | BigInt64Array | Int32Array | Float64Array> = {};
    for (const key of keys) {
      const file = join(dir, `out_${key}.npy`);
      res[key] = decodeNpy(new Uint8Array(readFileSync(file)), file).data as Float32Array;
    }
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
