// Parses one YAML file the way GitLab's Psych (YAML 1.1) does, into plain data: anchors and
// aliases, `<<` merge keys with Psych's in-place override order, duplicate keys (last wins),
// and `!reference [job, key…]` tags kept as ReferenceTag values for later resolution.
import type { Document, Node } from 'yaml';
import type { CiError, SourceLocation } from '../types.js';
import type { SourceMap } from './source-map.js';

type YamlLib = typeof import('yaml');
let yamlLib: YamlLib | undefined;

/** The module's exports whether `namespace` is Node's view of a CommonJS module or a bundler's. */
function commonJsExports<T>(namespace: unknown, probe: string): T {
  const ns = namespace as Record<string, unknown> & { default?: Record<string, unknown> };
  return (typeof ns[probe] === 'undefined' && ns.default ? ns.default : ns) as T;
}

/**
 * Loads the yaml package (~40 ms of start-up, so only when a file is really parsed: a cached
 * pipeline needs none). Call before parseYaml.
 */
export async function loadYamlLib(): Promise<void> {
  // A CommonJS package: Node's import() gives named exports, a bundler's only `default`.
  yamlLib ??= commonJsExports<YamlLib>(await import('yaml'), 'parseDocument');
}

/** An unresolved `!reference [.job, key, …]`. */
export class ReferenceTag {
  constructor(
    readonly path: string[],
    readonly at: SourceLocation,
  ) {}
}

const referenceTag = { tag: '!reference', collection: 'seq' as const, default: false, resolve: (seq: unknown) => seq };

/** Alias expansions allowed per file: stops "billion laughs" documents. */
const MAX_ALIAS_EXPANSIONS = 10_000;

export interface ParsedYaml {
  value: unknown;
  errors: CiError[];
}

export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

/** A line starting with `---` and whitespace: where GitLab cuts a file into YAML documents. */
const DOCUMENT_DIVIDER = /^---\s+/gm;
/** GitLab reads at most a header document and a content document per file. */
const MAX_DOCUMENTS = 2;

/** A file cut into GitLab's documents: the optional `spec:` header and the pipeline content. */
export interface FileDocuments {
  header?: string;
  content: string;
}

/**
 * GitLab splits a file's text at `---` lines into at most three pieces, drops blank pieces
 * (nothing but comments counts as blank), and takes the last piece as the content when the
 * first is a `spec:` header, else the first piece; only the first YAML document of a piece is
 * read. Lines before a piece are kept as empty lines so reported line numbers stay right.
 */
export function splitDocuments(text: string): FileDocuments {
  if (!yamlLib) throw new Error('splitDocuments: call loadYamlLib() first');
  // Ruby's split with a limit: at most MAX_DOCUMENTS dividers cut, the rest stays in the last piece.
  const cuts: Array<{ at: number; next: number }> = [];
  for (const m of text.matchAll(DOCUMENT_DIVIDER)) {
    if (cuts.length === MAX_DOCUMENTS) break;
    cuts.push({ at: m.index, next: m.index + m[0].length });
  }
  if (cuts.length === 0 || (cuts.length === 1 && cuts[0].at === 0)) return { content: text };
  const { parseDocument, isMap } = yamlLib;
  const bounds = [0, ...cuts.map((c) => c.next)].map((start, i) => ({ start, end: cuts[i]?.at ?? text.length }));
  const pieces = bounds.map(({ start, end }) => {
    let body = text.slice(start, end);
    // Only the first YAML document of a piece is read.
    const more = body.search(/^---\s/m);
    if (more > 0) body = body.slice(0, more);
    return { start, body, doc: parseDocument(body, { version: '1.1', uniqueKeys: false, customTags: [referenceTag] }) };
  });
  const documents = pieces.filter((p) => p.doc.errors.length > 0 || !isBlank(p.doc.toJS({ maxAliasCount: -1 })));
  if (documents.length === 0) return { content: '' };
  const first = documents[0];
  const header = documents.length > 1 && isMap(first.doc.contents) && first.doc.contents.has('spec');
  const padded = (piece: (typeof pieces)[number]) => '\n'.repeat(countLines(text, piece.start)) + piece.body;
  return header ? { header: padded(first), content: padded(documents[documents.length - 1]) } : { content: padded(first) };
}

function isBlank(value: unknown): boolean {
  if (value === null || value === undefined || value === false || value === '') return true;
  if (typeof value === 'string') return value.trim() === '';
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

function countLines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Parses one document (see splitDocuments for a whole file). */
export function parseYaml(text: string, file: string, sources: SourceMap): ParsedYaml {
  if (!yamlLib) throw new Error('parseYaml: call loadYamlLib() first');
  const { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument } = yamlLib;
  const lines = new LineCounter();
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: false, customTags: [referenceTag], lineCounter: lines, prettyErrors: false });
  const errors: CiError[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0].line ?? (typeof e.pos?.[0] === 'number' ? lines.linePos(e.pos[0]).line : 0),
    message: `invalid YAML: ${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
  }));
  if (errors.length) return { value: undefined, errors };
  const at = (node: Node | null | undefined): SourceLocation => ({ file, line: node?.range ? lines.linePos(node.range[0]).line : 0 });
  let expansions = 0;

  const convert = (node: unknown): unknown => {
    if (isAlias(node)) {
      if (++expansions > MAX_ALIAS_EXPANSIONS) throw new YamlShapeError(at(node), 'too many alias expansions');
      const target = node.resolve(doc as Document);
      if (!target) throw new YamlShapeError(at(node), `unknown anchor *${node.source}`);
      return convert(target);
    }
    if (isScalar(node)) {
      const v = node.value;
      if (v instanceof Date) return node.source;
      // Psych reads y/n as strings; the yaml package's 1.1 schema would make them booleans.
      if (typeof v === 'boolean' && node.type === 'PLAIN' && /^[yYnN]$/.test(String(node.source))) return node.source;
      return v;
    }
    if (isSeq(node)) {
      if (node.tag === '!reference') {
        const path = node.items.map((item) => (isScalar(item) ? String(item.value) : ''));
        if (path.length === 0 || path.some((p) => p === '')) throw new YamlShapeError(at(node), '!reference needs a list of names, e.g. !reference [.job, script]');
        return new ReferenceTag(path, at(node));
      }
      const list: unknown[] = [];
      sources.record(list, at(node));
      node.items.forEach((item, i) => {
        list.push(convert(item));
        sources.recordKey(list, i, at(item as Node));
      });
      return list;
    }
    if (isMap(node)) {
      const hash: Record<string, unknown> = {};
      sources.record(hash, at(node));
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (isScalar(keyNode) && typeof keyNode.value === 'symbol') {
          mergeInto(hash, pair.value as Node | null);
          continue;
        }
        const key = keyNode === null ? '' : String(convert(keyNode) ?? '');
        setOwn(hash, key, convert(pair.value));
        sources.recordKey(hash, key, at(keyNode));
      }
      return hash;
    }
    return node === null || node === undefined ? null : undefined;
  };

  // Psych merges `<<` where it appears: merged keys override keys above it; in a list of
  // merge sources the first one wins.
  const mergeInto = (hash: Record<string, unknown>, value: Node | null) => {
    const items = isSeq(value) ? value.items : [value];
    const merged: Array<[string, unknown, unknown]> = [];
    for (const item of [...items].reverse()) {
      const source = convert(item);
      if (typeof source !== 'object' || source === null || Array.isArray(source)) {
        throw new YamlShapeError(at(item as Node), 'a << merge key needs a mapping or a list of mappings');
      }
      for (const [k, v] of Object.entries(source)) merged.push([k, v, source]);
    }
    for (const [k, v, from] of merged) {
      setOwn(hash, k, v);
      sources.copyKey(from, k, hash);
    }
  };

  try {
    return { value: convert(doc.contents), errors: [] };
  } catch (e) {
    if (e instanceof YamlShapeError) return { value: undefined, errors: [{ ...e.at, message: `invalid YAML: ${e.message}` }] };
    throw e;
  }
}

class YamlShapeError extends Error {
  constructor(
    readonly at: SourceLocation,
    message: string,
  ) {
    super(message);
  }
}
