import { isValidProcessType } from './names.js';

export type ProcessTypes = Record<string, string>;

export class ProcfileError extends Error {
  constructor(readonly line: number, message: string) {
    super(`Procfile line ${line}: ${message}`);
    this.name = 'ProcfileError';
  }
}

/**
 * Parses a Procfile: `type: command` per line; blank lines and `#` comments are skipped.
 * Throws a ProcfileError naming the line and what to fix.
 */
export function parseProcfile(text: string): ProcessTypes {
  const types: ProcessTypes = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const lineNo = index + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ProcfileError(lineNo, `expected "type: command", got ${JSON.stringify(line)}`);
    const type = line.slice(0, colon).trim();
    const command = line.slice(colon + 1).trim();
    if (!isValidProcessType(type)) {
      throw new ProcfileError(lineNo, `process type ${JSON.stringify(type)} may only use letters, digits, "_" and "-"`);
    }
    if (command === '') throw new ProcfileError(lineNo, `process type "${type}" has no command`);
    if (type in types) throw new ProcfileError(lineNo, `process type "${type}" is declared twice`);
    types[type] = command;
  });
  return types;
}
