/**
 * Process types of a build: buildpack `default_process_types` (from bin/release YAML),
 * overridden by the app's Procfile.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseProcfile, ProcfileError, type ProcessTypes } from '../core/procfile.js';
import { BuildError } from './contract.js';

/** Reads `default_process_types` from bin/release output; anything else in it is ignored. */
export function parseReleaseOutput(buildpack: string, text: string): ProcessTypes {
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new BuildError(`Buildpack ${buildpack}: bin/release printed invalid YAML (${(err as Error).message.split('\n')[0]}); fix the buildpack's bin/release.`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new BuildError(`Buildpack ${buildpack}: bin/release must print a YAML mapping (e.g. "default_process_types:"); fix the buildpack's bin/release.`);
  }
  const types = (doc as Record<string, unknown>).default_process_types;
  if (types === undefined || types === null) return {};
  if (typeof types !== 'object' || Array.isArray(types)) {
    throw new BuildError(`Buildpack ${buildpack}: default_process_types in bin/release output must map process types to commands.`);
  }
  const result: ProcessTypes = {};
  for (const [type, command] of Object.entries(types)) {
    if (typeof command === 'string' && command.trim() !== '') result[type] = command;
  }
  return result;
}

/** Parses the app's Procfile if there is one; a bad line becomes a BuildError naming it. */
export async function readProcfile(buildDir: string): Promise<ProcessTypes | null> {
  const text = await readFile(join(buildDir, 'Procfile'), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw new BuildError(`Could not read the Procfile: ${err.message}`);
  });
  if (text === null) return null;
  try {
    return parseProcfile(text);
  } catch (err) {
    if (err instanceof ProcfileError) {
      throw new BuildError(
        `${err.message}. Each Procfile line must look like "web: node server.js" (a process type, a colon, then the command); fix that line and push again.`,
      );
    }
    throw err;
  }
}
