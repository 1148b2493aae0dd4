/**
 * The Builder contract: turns a source tree into a slug. The classic-buildpack builder
 * implements it; a Dockerfile builder can later implement the same contract.
 */
export interface BuildRequest {
  appId: string;
  appName: string;
  /** An extracted, already validated source tree. The builder may modify it. */
  sourceDir: string;
  /** The app's persistent build cache directory (created if missing). */
  cacheDir: string;
  /**
   * Buildpacks to run in order: built-in names (`nodejs`, `static`, `procfile`, also as
   * `heroku/nodejs`), absolute local paths, or git URLs. Empty means detect among built-ins.
   */
  buildpacks: string[];
  /** Config vars exposed to the buildpacks through ENV_DIR (never printed). */
  env: Record<string, string>;
  /** Where to write the slug tarball (.tgz). */
  slugPath: string;
  /** Build output, line by line, without trailing newline (the caller adds framing). */
  output: (line: string) => void;
  /** The commit being built, exposed to buildpacks as SOURCE_VERSION. */
  sourceVersion?: string;
  /** Aborts the build (e.g. on shutdown). */
  signal?: AbortSignal;
}

export interface BuildResult {
  /** Process types from the Procfile, merged with buildpack `default_process_types`. */
  processTypes: Record<string, string>;
  /** The buildpacks that ran, in order. */
  buildpacks: string[];
  /** e.g. "Node.js" — what bin/detect printed. */
  description: string;
  slugSize: number;
  /** `SHA256:<hex>` of the slug tarball. */
  checksum: string;
  stack: string;
}

/** A build failure with a message that tells the user what to fix. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

export interface Builder {
  build(request: BuildRequest): Promise<BuildResult>;
}
