// Reads the entry file and everything it includes, then merges them as GitLab does:
// includes first (nested ones before their parent, listed order, later wins), then the
// including file on top. Loops and the 150-include limit are errors at the include line.
import { globMatch, hasGlobMagic } from '../glob.js';
import { isHash, type CiError, type Hash, type ProjectFiles, type RemoteFetcher, type SourceLocation } from '../types.js';
import { deepMerge } from './merge.js';
import type { SourceMap } from './source-map.js';
import { loadYamlLib, parseYaml } from './yaml.js';

export const MAX_INCLUDES = 150;

export interface IncludeOptions {
  files: ProjectFiles;
  fetchRemote?: RemoteFetcher;
  /** Variables usable in include paths (project, pipeline, CI_PROJECT_*, CI_COMMIT_REF_NAME…). */
  variables?: Record<string, string>;
  /** Decides `include:rules`; without it every include applies. */
  includeRulesMatch?: (rules: unknown[]) => boolean;
}

interface Ref {
  kind: 'local' | 'remote';
  name: string;
}

export class IncludeLoader {
  readonly errors: CiError[] = [];
  readonly loadedFiles: string[] = [];
  private count = 0;
  private listing: Promise<string[]> | undefined;

  constructor(
    private readonly options: IncludeOptions,
    private readonly sources: SourceMap,
  ) {}

  /** Loads `entry` and its includes; returns the merged hash (without `include`). */
  async load(entry: string): Promise<Hash | undefined> {
    return this.loadFile({ kind: 'local', name: normalizeLocal(entry) }, [], { file: entry, line: 0 });
  }

  private async loadFile(ref: Ref, chain: string[], includedAt: SourceLocation): Promise<Hash | undefined> {
    const id = `${ref.kind}:${ref.name}`;
    if (chain.includes(id)) {
      const loop = [...chain.slice(chain.indexOf(id)), id].map((c) => c.replace(/^\w+:/, '')).join(' → ');
      this.fail(includedAt, `include loop: ${loop}`);
      return undefined;
    }
    const text = await this.read(ref, includedAt);
    if (text === undefined) return undefined;
    this.loadedFiles.push(ref.name);
    await loadYamlLib();
    const parsed = parseYaml(text, ref.name, this.sources);
    if (parsed.errors.length) {
      this.errors.push(...parsed.errors);
      return undefined;
    }
    if (parsed.value === null || parsed.value === undefined) return {};
    if (!isHash(parsed.value)) {
      this.fail({ file: ref.name, line: 1 }, 'a pipeline file must be a mapping of keywords and jobs');
      return undefined;
    }
    const { include, ...rest } = parsed.value;
    const own: Hash = {};
    this.sources.record(own, this.sources.of(parsed.value) ?? { file: ref.name, line: 1 });
    for (const key of Object.keys(rest)) {
      own[key] = rest[key];
      this.sources.copyKey(parsed.value, key, own);
    }
    if (include === undefined || include === null) return own;
    const includeAt = this.sources.keyOf(parsed.value, 'include') ?? { file: ref.name, line: 0 };
    const entries = Array.isArray(include) ? include : [include];
    let merged: Hash | undefined;
    for (let i = 0; i < entries.length; i++) {
      const at = this.sources.keyOf(include, i) ?? includeAt;
      for (const child of await this.expand(entries[i], at)) {
        if (++this.count > MAX_INCLUDES) {
          this.fail(at, `too many includes: at most ${MAX_INCLUDES} files may be included`);
          return undefined;
        }
        const loaded = await this.loadFile(child, [...chain, id], at);
        if (loaded) merged = merged ? deepMerge(merged, loaded, this.sources) : loaded;
      }
    }
    return merged ? deepMerge(merged, own, this.sources) : own;
  }

  /** One `include:` entry → the files it names (globs expanded, rules applied). */
  private async expand(entry: unknown, at: SourceLocation): Promise<Ref[]> {
    if (typeof entry === 'string') {
      const name = this.interpolate(entry);
      return /^https?:\/\//.test(name) ? [{ kind: 'remote', name }] : this.locals(name, at);
    }
    if (!isHash(entry)) {
      this.fail(at, 'an include entry must be a path, a URL or a hash such as {local: path}');
      return [];
    }
    if (Array.isArray(entry.rules) && this.options.includeRulesMatch && !this.options.includeRulesMatch(entry.rules)) return [];
    if (typeof entry.local === 'string') return this.locals(this.interpolate(entry.local), at);
    if (typeof entry.remote === 'string') return [{ kind: 'remote', name: this.interpolate(entry.remote) }];
    const kind = ['project', 'template', 'component'].find((k) => k in entry);
    if (kind) {
      this.fail(at, `include:${kind} is not supported yet (only include:local and include:remote are)`);
      return [];
    }
    this.fail(at, 'an include entry needs one of local, remote, project, template or component');
    return [];
  }

  private async locals(path: string, at: SourceLocation): Promise<Ref[]> {
    const name = normalizeLocal(path);
    if (!/\.ya?ml$/.test(name)) {
      this.fail(at, `included file "${path}" must end in .yml or .yaml`);
      return [];
    }
    if (!hasGlobMagic(name)) return [{ kind: 'local', name }];
    this.listing ??= this.options.files.list();
    const matches = (await this.listing).filter((f) => globMatch(name, f)).sort();
    if (matches.length === 0) this.fail(at, `no file in the repository matches the include pattern "${path}"`);
    return matches.map((m) => ({ kind: 'local', name: m }));
  }

  private async read(ref: Ref, at: SourceLocation): Promise<string | undefined> {
    if (ref.kind === 'local') {
      const text = await this.options.files.read(ref.name);
      if (text === undefined) this.fail(at, at.line === 0 ? `${ref.name} does not exist` : `included file "${ref.name}" does not exist`);
      return text;
    }
    if (!this.options.fetchRemote) {
      this.fail(at, `include:remote "${ref.name}" cannot be fetched here (no fetcher configured)`);
      return undefined;
    }
    try {
      return await this.options.fetchRemote(ref.name);
    } catch (e) {
      this.fail(at, `could not fetch include:remote "${ref.name}": ${(e as Error).message}`);
      return undefined;
    }
  }

  private interpolate(text: string): string {
    const vars = this.options.variables ?? {};
    return text.replace(/\$(?:\{(\w+)\}|(\w+))/g, (whole, a: string | undefined, b: string | undefined) => vars[(a ?? b) as string] ?? whole);
  }

  private fail(at: SourceLocation, message: string): void {
    this.errors.push({ ...at, message });
  }
}

const normalizeLocal = (path: string): string => path.replace(/^\.?\/+/, '');
