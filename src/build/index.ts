/** The build service: source archives in, slugs out. */
export { BuildError, type Builder, type BuildRequest, type BuildResult } from './contract.js';
export { BuildpackBuilder, type BuildpackBuilderOptions, type BuildpackBuildRequest } from './buildpack-builder.js';
export { extractSource, SourceError, MAX_SOURCE_BYTES, MAX_SOURCE_ENTRIES, type ExtractedSource, type SourceLimits } from './source.js';
export { BUILTIN_BUILDPACKS, BUILTIN_BUILDPACKS_DIR } from './buildpack-source.js';
export { DEFAULT_STACK } from './build-env.js';
export { formatSize } from './slug.js';
