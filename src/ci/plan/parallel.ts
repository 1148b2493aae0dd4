// `parallel: N` and `parallel:matrix` expansion with GitLab's names: `job 1/3`, and
// `job: [v1, v2]` (values only, in key order, joined by ", "). Matrix hashes expand to the
// cartesian product of their lists, first key varying slowest, hashes in listed order.
import { isHash } from '../types.js';

export interface Instance {
  name: string;
  matrix?: Record<string, string>;
  nodeIndex?: number;
  nodeTotal: number;
}

export function expandParallel(name: string, parallel: unknown): Instance[] {
  if (typeof parallel === 'number' && parallel > 1) {
    return Array.from({ length: parallel }, (_, i) => ({ name: `${name} ${i + 1}/${parallel}`, nodeIndex: i + 1, nodeTotal: parallel }));
  }
  if (isHash(parallel) && Array.isArray(parallel.matrix)) {
    const combos = matrixCombinations(parallel.matrix);
    // Identical value lists give identical names: the later one replaces the earlier.
    const byName = new Map<string, Record<string, string>>();
    for (const combo of combos) byName.set(matrixJobName(name, combo), combo);
    const total = byName.size;
    return [...byName].map(([jobName, matrix], i) => ({ name: jobName, matrix, nodeIndex: i + 1, nodeTotal: total }));
  }
  return [{ name, nodeTotal: 1 }];
}

export const matrixJobName = (name: string, combo: Record<string, string>): string => `${name}: [${Object.values(combo).join(', ')}]`;

export function matrixCombinations(matrix: unknown[]): Array<Record<string, string>> {
  const all: Array<Record<string, string>> = [];
  for (const entry of matrix) {
    if (!isHash(entry)) continue;
    let combos: Array<Record<string, string>> = [{}];
    for (const [key, raw] of Object.entries(entry)) {
      const values = (Array.isArray(raw) ? raw : [raw]).map((v) => String(v ?? ''));
      combos = combos.flatMap((c) => values.map((v) => ({ ...c, [key]: v })));
    }
    all.push(...combos);
  }
  return all;
}
