// Reads the entry file and everything it includes, then merges them as GitLab does:
// includes first (nested ones before their parent, listed order, later wins), then the
// including file on top. Loops and the 150-include limit are errors at the include line.
import { globMatch, hasGlobMagic } from '../glob.js';
import { isHash, type ArtifactFileReader, type CiError, type Hash, type ProjectFileReader, type ProjectFiles, type RemoteFetcher, type SourceLocation } from '../types.js';
import { deepMerge } from './merge.js';
import type { SourceMap } from './source-map.js';
import { interpolateInputs, resolveInputs } from './inputs.js';
import { loadYamlLib, parseYaml, splitDocuments } from './yaml.js';

export const MAX_INCLUDES = 150;

export interface IncludeOptions {
  files: ProjectFiles;
  fetchRemote?: RemoteFetcher;
  readProjectFile?: ProjectFileReader;
  /** Reads `include:artifact` files of a child pipeline (trigger:include) from an earlier job. */
  readArtifact?: ArtifactFileReader;
  /** Variables usable in include paths (project, pipeline, CI_PROJECT_*, CI_COMMIT_REF_NAME…). */
  variables?: Record<string, string>;
  /** Decides `include:rules`; without it every include applies. */
  includeRulesMatch?: (rules: unknown[]) => boolean;
}

interface Ref {
  kind: 'local' | 'remote' | 'project' | 'artifact';
  name: string;
  /** include:artifact: the job whose artifacts hold the file. */
  job?: string;
  /** include:project: the project and ref the file is read from (local includes inside it too). */
  project?: string;
  ref?: string;
  /** The include entry's `inputs`, for the file's `spec:inputs` header. */
  inputs?: unknown;
  /** The inputs were given to a pipeline run (text from a form or a command line), not by an include entry. */
  pipelineInputs?: boolean;
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

  /**
   * Loads `entry` and its includes; returns the merged hash (without `include`). `inputs` are
   * the pipeline's own inputs (a pipeline run's), for the entry file's `spec:inputs` header.
   */
  async load(entry: string, inputs?: Record<string, unknown>): Promise<Hash | undefined> {
    return this.loadFile({ kind: 'local', name: normalizeLocal(entry), ...(inputs ? { inputs, pipelineInputs: true } : {}) }, [], { file: entry, line: 0 });
  }

  /**
   * A child pipeline's configuration: a new top level made only of `trigger:include` entries
   * (as GitLab builds it: `include:` of those entries), where `artifact` entries are allowed.
   */
  async loadTrigger(entries: unknown[], at: SourceLocation): Promise<Hash | undefined> {
    const merged = await this.includeAll(entries, () => at, { kind: 'local', name: '' }, [], true);
    if (merged === null) return undefined;
    return merged ?? {};
  }

  private async loadFile(ref: Ref, chain: string[], includedAt: SourceLocation): Promise<Hash | undefined> {
    const id = ref.kind === 'project' ? `project:${ref.project}@${ref.ref ?? ''}:${ref.name}` : ref.kind === 'artifact' ? `artifact:${ref.job}:${ref.name}` : `${ref.kind}:${ref.name}`;
    if (chain.includes(id)) {
      const loop = [...chain.slice(chain.indexOf(id)), id].map((c) => c.replace(/^(local|remote):/, '').replace(/^project:/, '')).join(' → ');
      this.fail(includedAt, `include loop: ${loop}`);
      return undefined;
    }
    const text = await this.read(ref, includedAt);
    if (text === undefined) return undefined;
    const shown = ref.kind === 'project' ? `${ref.project}:${ref.name}` : ref.kind === 'artifact' ? artifactFileName(ref.job!, ref.name) : ref.name;
    this.loadedFiles.push(shown);
    await loadYamlLib();
    const documents = splitDocuments(text);
    const header = documents.header === undefined ? undefined : parseYaml(documents.header, shown, this.sources);
    const parsed = parseYaml(documents.content, shown, this.sources);
    if (header?.errors.length || parsed.errors.length) {
      this.errors.push(...(header?.errors ?? []), ...parsed.errors);
      return undefined;
    }
    const inputs = resolveInputs(header?.value, ref.inputs, includedAt.line === 0 ? { file: shown, line: 1 } : includedAt, ref.pipelineInputs === true);
    if (inputs.errors.length) {
      this.errors.push(...inputs.errors);
      return undefined;
    }
    if (parsed.value === null || parsed.value === undefined) return {};
    if (!isHash(parsed.value)) {
      this.fail({ file: shown, line: 1 }, 'a pipeline file must be a mapping of keywords and jobs');
      return undefined;
    }
    let value: Hash = parsed.value;
    if (inputs.values) {
      const interpolated = interpolateInputs(value, inputs.values, this.options.variables ?? {}, { file: shown, line: 1 }, this.sources);
      if (interpolated.errors.length) {
        this.errors.push(...interpolated.errors);
        return undefined;
      }
      value = interpolated.value as Hash;
    }
    const { include, ...rest } = value;
    const own: Hash = {};
    this.sources.record(own, this.sources.of(value) ?? { file: shown, line: 1 });
    for (const key of Object.keys(rest)) {
      own[key] = rest[key];
      this.sources.copyKey(value, key, own);
    }
    if (include === undefined || include === null) return own;
    const includeAt = this.sources.keyOf(value, 'include') ?? { file: shown, line: 0 };
    const merged = await this.includeAll(Array.isArray(include) ? include : [include], (i) => this.sources.keyOf(include, i) ?? includeAt, ref, [...chain, id], false);
    if (merged === null) return undefined;
    return merged ? deepMerge(merged, own, this.sources) : own;
  }

  /** Loads and merges the files of `include:` entries; null when the include limit was passed. */
  private async includeAll(entries: unknown[], entryAt: (i: number) => SourceLocation, parent: Ref, chain: string[], artifacts: boolean): Promise<Hash | undefined | null> {
    let merged: Hash | undefined;
    for (let i = 0; i < entries.length; i++) {
      const at = entryAt(i);
      for (const child of await this.expand(entries[i], at, parent, artifacts)) {
        if (++this.count > MAX_INCLUDES) {
          this.fail(at, `too many includes: at most ${MAX_INCLUDES} files may be included`);
          return null;
        }
        const loaded = await this.loadFile(child, chain, at);
        if (loaded) merged = merged ? deepMerge(merged, loaded, this.sources) : loaded;
      }
    }
    return merged;
  }

  /** One `include:` entry → the files it names (globs expanded, rules applied). */
  private async expand(entry: unknown, at: SourceLocation, parent: Ref, artifacts: boolean): Promise<Ref[]> {
    // Local includes in a file of another project are that project's files (as on GitLab).
    const within = (refs: Ref[]): Ref[] => (parent.kind === 'project' ? refs.map((r) => (r.kind === 'local' ? { ...r, kind: 'project', project: parent.project, ref: parent.ref } : r)) : refs);
    if (typeof entry === 'string') {
      const name = this.interpolate(entry);
      return /^https?:\/\//.test(name) ? [{ kind: 'remote', name }] : within(await this.locals(name, at, parent));
    }
    if (!isHash(entry)) {
      this.fail(at, 'an include entry must be a path, a URL or a hash such as {local: path}');
      return [];
    }
    if (Array.isArray(entry.rules) && this.options.includeRulesMatch && !this.options.includeRulesMatch(entry.rules)) return [];
    const withInputs = (refs: Ref[]): Ref[] => ('inputs' in entry ? refs.map((r) => ({ ...r, inputs: entry.inputs })) : refs);
    if (typeof entry.local === 'string') return withInputs(within(await this.locals(this.interpolate(entry.local), at, parent)));
    if (typeof entry.remote === 'string') return withInputs([{ kind: 'remote', name: this.interpolate(entry.remote) }]);
    if ('project' in entry) return withInputs(this.projectFiles(entry, at));
    if ('artifact' in entry) return withInputs(this.artifactFile(entry, at, artifacts));
    const kind = ['template', 'component'].find((k) => k in entry);
    if (kind) {
      this.fail(at, `include:${kind} is not supported: Slipway has no copy of GitLab's ${kind === 'template' ? 'template library' : 'CI/CD catalog'}; copy the file into the repository and use include:local`);
      return [];
    }
    this.fail(at, 'an include entry needs one of local, remote, project, template or component');
    return [];
  }

  /** trigger:include: {artifact: path, job: name} (only there: GitLab has no such `include:`). */
  private artifactFile(entry: Hash, at: SourceLocation, allowed: boolean): Ref[] {
    if (!allowed) {
      this.fail(at, 'include:artifact is only allowed in trigger:include (child pipelines)');
      return [];
    }
    if (typeof entry.artifact !== 'string' || typeof entry.job !== 'string' || entry.job === '') {
      this.fail(at, 'trigger:include:artifact needs the file and the job that made it: {artifact: path, job: name}');
      return [];
    }
    const name = normalizeLocal(entry.artifact);
    if (!/\.ya?ml$/.test(name)) {
      this.fail(at, `included artifact "${entry.artifact}" must end in .yml or .yaml`);
      return [];
    }
    return [{ kind: 'artifact', name, job: entry.job }];
  }

  /** include: {project, ref?, file: path | [paths]}. */
  private projectFiles(entry: Hash, at: SourceLocation): Ref[] {
    if (typeof entry.project !== 'string' || entry.project === '') {
      this.fail(at, 'include:project needs the project path, e.g. project: shop-ci-templates');
      return [];
    }
    const project = this.interpolate(entry.project);
    const ref = typeof entry.ref === 'string' ? this.interpolate(entry.ref) : undefined;
    const files = [entry.file].flat();
    if (entry.file === undefined || files.length === 0 || !files.every((f) => typeof f === 'string' && f !== '')) {
      this.fail(at, `include:project ${project} needs file: a path or a list of paths in that project`);
      return [];
    }
    const refs: Ref[] = [];
    for (const file of files as string[]) {
      const name = normalizeLocal(this.interpolate(file));
      if (!/\.ya?ml$/.test(name)) this.fail(at, `included file "${file}" of project ${project} must end in .yml or .yaml`);
      else refs.push({ kind: 'project', name, project, ...(ref ? { ref } : {}) });
    }
    return refs;
  }

  private async locals(path: string, at: SourceLocation, parent?: Ref): Promise<Ref[]> {
    const name = normalizeLocal(path);
    if (!/\.ya?ml$/.test(name)) {
      this.fail(at, `included file "${path}" must end in .yml or .yaml`);
      return [];
    }
    if (!hasGlobMagic(name)) return [{ kind: 'local', name }];
    if (parent?.kind === 'project') {
      this.fail(at, `wildcard includes are not supported inside files of another project ("${path}" in ${parent.project})`);
      return [];
    }
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
    if (ref.kind === 'project') return this.readProject(ref, at);
    if (ref.kind === 'artifact') return this.readArtifact(ref, at);
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

  private async readProject(ref: Ref, at: SourceLocation): Promise<string | undefined> {
    const where = `${ref.project}${ref.ref ? `@${ref.ref}` : ''}`;
    if (!this.options.readProjectFile) {
      this.fail(at, `include:project ${where} needs the Slipway server: run the pipeline there, or copy "${ref.name}" into this repository`);
      return undefined;
    }
    try {
      const text = await this.options.readProjectFile(ref.project!, ref.ref, ref.name);
      if (text === undefined) this.fail(at, `included file "${ref.name}" does not exist in project ${where}`);
      return text;
    } catch (e) {
      this.fail(at, `include:project ${where}: ${(e as Error).message}`);
      return undefined;
    }
  }

  private async readArtifact(ref: Ref, at: SourceLocation): Promise<string | undefined> {
    if (!this.options.readArtifact) {
      this.fail(at, `include:artifact "${ref.name}" of job ${ref.job} can only be read while the pipeline runs`);
      return undefined;
    }
    try {
      const text = await this.options.readArtifact(ref.job!, ref.name);
      if (text === undefined) this.fail(at, `job ${ref.job} has no artifact file "${ref.name}"`);
      return text;
    } catch (e) {
      this.fail(at, `include:artifact "${ref.name}" of job ${ref.job}: ${(e as Error).message}`);
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

/** How an artifact file of a child pipeline's configuration is named in errors: where it lives. */
export const artifactFileName = (job: string, path: string): string => `artifacts/${job}/${path}`;
