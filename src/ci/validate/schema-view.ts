// What the JSON schema is shown: the merged configuration minus shapes GitLab's own validators
// accept although the schema (written for editors) calls them wrong. Each tolerance here is
// one GitLab accepts; nothing GitLab rejects may be hidden.
import { isHash, type Hash } from '../types.js';
import type { SourceMap } from '../load/source-map.js';

/**
 * - `key: null` in a job is "not set" (how a job drops an inherited key).
 * - `artifacts: {paths: []}` / `exclude: []`: GitLab checks only "a list of strings", so an
 *   empty list (a job that keeps no files) is valid.
 */
export function schemaView(config: Hash, sources: SourceMap): Hash {
  const view: Hash = {};
  sources.record(view, sources.of(config) ?? { file: '', line: 0 });
  for (const [name, value] of Object.entries(config)) {
    sources.copyKey(config, name, view);
    view[name] = isHash(value) ? jobView(value, sources) : value;
  }
  return view;
}

function jobView(job: Hash, sources: SourceMap): Hash {
  const artifacts = job.artifacts;
  const emptyArtifactLists = isHash(artifacts) && (isEmptyList(artifacts.paths) || isEmptyList(artifacts.exclude));
  if (!Object.values(job).includes(null) && !emptyArtifactLists) return job;
  const copy = without(job, (_, v) => v === null, sources);
  if (emptyArtifactLists) copy.artifacts = without(artifacts, (k, v) => (k === 'paths' || k === 'exclude') && isEmptyList(v), sources);
  return copy;
}

function without(hash: Hash, drop: (key: string, value: unknown) => boolean, sources: SourceMap): Hash {
  const copy: Hash = {};
  sources.record(copy, sources.of(hash) ?? { file: '', line: 0 });
  for (const [key, value] of Object.entries(hash)) {
    if (drop(key, value)) continue;
    copy[key] = value;
    sources.copyKey(hash, key, copy);
  }
  return copy;
}

const isEmptyList = (value: unknown) => Array.isArray(value) && value.length === 0;
