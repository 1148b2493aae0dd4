#!/usr/bin/env node
/** `npm start`: runs Slipway on its embedded defaults until SIGINT/SIGTERM. */
import { loadConfig } from './config.js';
import { startSlipway } from './server.js';
import { relative } from 'node:path';
import { installFile } from './core/install-root.js';

const cliPath = relative(process.cwd(), installFile(import.meta.url, 'dist', 'bundle', 'cli', 'main.js')) || 'dist/bundle/cli/main.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const slipway = await startSlipway(config);
  const apiUrl = `http://${config.publicHost}:${slipway.httpPort}`;
  console.log(`Slipway listening on http://${config.bindAddress}:${slipway.httpPort} and https://${config.bindAddress}:${slipway.httpsPort}`);
  console.log(`  state:   ${slipway.store.describe}`);
  console.log(`  dynos:   ${slipway.isolation}`);
  console.log(`  apps:    http://<app>.${config.appsDomain}:${slipway.httpPort}/`);
  console.log(`  CA cert: ${slipway.caPath} (also at ${apiUrl}/ca.pem)`);
  if (slipway.bootstrapKey && !config.bootstrapApiKey) {
    console.log('');
    console.log(`Created the admin account ${slipway.adminEmail}. Its API key (shown only this once):`);
    console.log(`  ${slipway.bootstrapKey}`);
    console.log(`Log in with: node ${cliPath} login --url ${apiUrl} --api-key <key>`);
    console.log('(or `npm link` once, then `slipway login ...`)');
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`Received ${signal}: stopping dynos and shutting down...`);
    const force = setTimeout(() => process.exit(1), config.stopTimeoutMs + 10_000);
    force.unref();
    await slipway.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(`Slipway could not start: ${(err as Error).message}`);
  process.exit(1);
});
