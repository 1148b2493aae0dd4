/** The CLI's lazy command registry lists exactly the commands its modules define. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_ENTRIES, COMMAND_MODULES } from '../../src/cli/registry.js';

test('the registry matches the command modules (names, aliases, summaries, order)', async () => {
  const specs = (await Promise.all(COMMAND_MODULES.map((load) => load()))).flat();
  const fromModules = specs.map((s) => ({ name: s.name, aliases: s.aliases ?? [], summary: s.summary }));
  const fromRegistry = COMMAND_ENTRIES.map((e) => ({ name: e.name, aliases: e.aliases ?? [], summary: e.summary }));
  assert.deepEqual(fromRegistry, fromModules);
  for (const entry of COMMAND_ENTRIES) {
    assert.ok((await entry.load()).some((s) => s.name === entry.name), `${entry.name} is defined by the module the registry names`);
  }
});
