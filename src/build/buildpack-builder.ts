/**
 * The classic-buildpack Builder: source tree → slug, following Heroku's buildpack protocol
 * (bin/detect, bin/compile, bin/release) with Slipway's built-in buildpacks as defaults.
 */
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BuildError, type BuildRequest, type BuildResult, type Builder } from './contract.js';
import { buildEnvironment, configMasker, DEFAULT_STACK, writeEnvDir } from './build-env.js';
import { BUILTIN_BUILDPACKS, resolveBuildpack, type ResolvedBuildpack } from './buildpack-source.js';
import { parseReleaseOutput, readProcfile } from './process-types.js';
import { runScript } from './run-script.js';
import { createSlug, formatSize } from './slug.js';
import { applySlugignore } from './slugignore.js';

export interface BuildpackBuilderOptions {
  /** Where buildpacks fetched from git URLs are cached, one directory per URL. */
  buildpacksCacheDir: string;
  /** Stack name exposed to buildpacks as STACK; default `slipway-24`. */
  stack?: string;
}

/** Optional extras a caller may pass beyond the Builder contract. */
export interface BuildpackBuildRequest extends BuildRequest {
  /** The commit being built, exposed to buildpacks as SOURCE_VERSION. */
  sourceVersion?: string;
}

interface DetectedBuildpack extends ResolvedBuildpack {
  /** What bin/detect printed, e.g. "Node.js". */
  description: string;
}

/** Everything one build's steps share. */
interface BuildContext {
  request: BuildpackBuildRequest;
  buildDir: string;
  envDir: string;
  env: Record<string, string>;
  say: (line: string) => void;
}

export class BuildpackBuilder implements Builder {
  private readonly stack: string;

  constructor(private readonly options: BuildpackBuilderOptions) {
    this.stack = options.stack ?? DEFAULT_STACK;
  }

  async build(request: BuildpackBuildRequest): Promise<BuildResult> {
    const mask = configMasker(request.env);
    const say = (line: string) => request.output(mask(line));
    checkNotAborted(request.signal);
    say(`-----> Building on the ${this.stack} stack`);

    const scratch = await mkdtemp(join(tmpdir(), 'slipway-build-'));
    try {
      const buildDir = resolve(request.sourceDir);
      if (!(await stat(buildDir).catch(() => null))?.isDirectory()) {
        throw new BuildError(`The source directory ${buildDir} does not exist.`);
      }
      await mkdir(request.cacheDir, { recursive: true });
      const envDir = join(scratch, 'env');
      const home = join(scratch, 'home');
      const buildpackCopies = join(scratch, 'buildpacks');
      await Promise.all([writeEnvDir(envDir, request.env), mkdir(home), mkdir(buildpackCopies)]);
      const env = buildEnvironment({ home, stack: this.stack, sourceVersion: request.sourceVersion });
      const context: BuildContext = { request, buildDir, envDir, env, say };

      await rm(join(buildDir, '.git'), { recursive: true, force: true });
      const ignored = await applySlugignore(buildDir);
      if (ignored > 0) say(`-----> Deleting ${ignored} files matching .slugignore patterns.`);
      // A broken Procfile fails the build before any slow compile step.
      await readProcfile(buildDir);

      const resolveOptions = { buildpacksCacheDir: this.options.buildpacksCacheDir, scratchDir: buildpackCopies, output: say, signal: request.signal };
      const buildpacks =
        request.buildpacks.length > 0
          ? await this.detectGiven(context, request.buildpacks, resolveOptions)
          : await this.detectBuiltin(context, resolveOptions);

      const exports: string[] = [];
      const defaults: Record<string, string> = {};
      for (const buildpack of buildpacks) {
        await this.compile(context, buildpack, exports);
        const exportFile = join(buildpack.dir, 'export');
        if (!buildpack.builtin && (await stat(exportFile).catch(() => null))?.isFile()) exports.push(exportFile);
      }
      for (const buildpack of buildpacks) Object.assign(defaults, await this.release(context, buildpack, exports));

      const processTypes = await this.discoverProcessTypes(context, defaults);

      await rm(join(buildDir, '.git'), { recursive: true, force: true });
      checkNotAborted(request.signal);
      say('-----> Compressing...');
      const slug = await createSlug(buildDir, request.slugPath, request.signal);
      say(`       Done: ${formatSize(slug.size)}`);

      return {
        processTypes,
        buildpacks: buildpacks.map((b) => b.ref),
        description: buildpacks[buildpacks.length - 1].description,
        slugSize: slug.size,
        checksum: slug.checksum,
        stack: this.stack,
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** Buildpacks the app asked for: every one of them must detect. */
  private async detectGiven(
    context: BuildContext,
    refs: string[],
    resolveOptions: Parameters<typeof resolveBuildpack>[1],
  ): Promise<DetectedBuildpack[]> {
    context.say(refs.length === 1 ? `-----> Using buildpack: ${refs[0]}` : '-----> Using buildpacks:');
    if (refs.length > 1) refs.forEach((ref, i) => context.say(`       ${i + 1}. ${ref}`));
    const detected: DetectedBuildpack[] = [];
    for (const ref of refs) {
      const buildpack = await resolveBuildpack(ref, resolveOptions);
      const description = await this.detect(context, buildpack);
      if (description === null) {
        throw new BuildError(
          `Buildpack ${ref} does not apply to this app (its bin/detect failed). Add the files it looks for, or remove it from the app's buildpacks.`,
        );
      }
      detected.push({ ...buildpack, description });
    }
    return detected;
  }

  /** No buildpacks set: the first built-in that detects wins. */
  private async detectBuiltin(
    context: BuildContext,
    resolveOptions: Parameters<typeof resolveBuildpack>[1],
  ): Promise<DetectedBuildpack[]> {
    for (const name of BUILTIN_BUILDPACKS) {
      const buildpack = await resolveBuildpack(name, resolveOptions);
      const description = await this.detect(context, buildpack);
      if (description !== null) return [{ ...buildpack, description }];
    }
    throw new BuildError(
      'No buildpack detected: add a package.json, an index.html or a Procfile, or set a buildpack with `slipway buildpacks:set <name or git URL>` (or the app.json "buildpacks" list).',
    );
  }

  /** Runs bin/detect; returns what it printed, or null when the buildpack does not apply. */
  private async detect(context: BuildContext, buildpack: ResolvedBuildpack): Promise<string | null> {
    const result = await runScript({
      script: join(buildpack.dir, 'bin', 'detect'),
      args: [context.buildDir],
      env: context.env,
      cwd: context.buildDir,
      signal: context.request.signal,
    });
    if (result.code !== 0) return null;
    return result.stdout.trim().split('\n')[0]?.trim() || buildpack.ref;
  }

  private async compile(context: BuildContext, buildpack: DetectedBuildpack, exports: string[]): Promise<void> {
    context.say(`-----> ${buildpack.description} app detected`);
    const problems: string[] = [];
    const result = await runScript({
      script: join(buildpack.dir, 'bin', 'compile'),
      args: [context.buildDir, context.request.cacheDir, context.envDir],
      env: context.env,
      cwd: context.buildDir,
      exports,
      signal: context.request.signal,
      onLine: (line) => {
        context.say(line);
        // Buildpacks mark problems with "!" lines; they make the failure message useful.
        if (/^\s*!/.test(line)) problems.push(line.replace(/^\s*!\s*/, '').trim());
      },
    });
    if (result.code === 0) return;
    const exit = result.code === null ? `was killed by ${result.signal}` : `exited with code ${result.code}`;
    const reason = problems.filter(Boolean).slice(-3).join(' ');
    throw new BuildError(
      `Build failed: the ${buildpack.description} buildpack could not compile the app (bin/compile ${exit}). ` +
        (reason ? configMasker(context.request.env)(reason) : 'See the build output above for the reason.'),
    );
  }

  private async release(context: BuildContext, buildpack: DetectedBuildpack, exports: string[]): Promise<Record<string, string>> {
    const script = join(buildpack.dir, 'bin', 'release');
    if (!(await stat(script).catch(() => null))?.isFile()) return {};
    const result = await runScript({
      script,
      args: [context.buildDir],
      env: context.env,
      cwd: context.buildDir,
      exports,
      signal: context.request.signal,
    });
    if (result.code !== 0) {
      throw new BuildError(`Buildpack ${buildpack.ref}: bin/release exited with code ${result.code}; fix the buildpack's bin/release.`);
    }
    return parseReleaseOutput(buildpack.ref, result.stdout);
  }

  private async discoverProcessTypes(context: BuildContext, defaults: Record<string, string>): Promise<Record<string, string>> {
    const procfile = (await readProcfile(context.buildDir)) ?? {};
    context.say('-----> Discovering process types');
    const declared = Object.keys(procfile);
    context.say(`       Procfile declares types -> ${declared.length > 0 ? declared.join(', ') : '(none)'}`);
    const fromBuildpack = Object.keys(defaults).filter((type) => !(type in procfile));
    if (fromBuildpack.length > 0) context.say(`       Default types for buildpack -> ${fromBuildpack.join(', ')}`);
    return { ...defaults, ...procfile };
  }
}

function checkNotAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new BuildError('The build was canceled before it finished.');
}
