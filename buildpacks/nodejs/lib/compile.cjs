'use strict';
/**
 * Slipway's Node.js buildpack: checks engines.node against the host Node.js (dynos run on the
 * same host node), installs dependencies with npm, runs the build scripts, prunes
 * devDependencies and puts node_modules/.bin on PATH at runtime.
 *
 * Warm rebuilds are fast because node_modules is cached per lockfile: when package-lock.json
 * and the dependency lists are unchanged, the cached tree is copied back instead of running
 * `npm ci` again.
 */
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { spawn } = require('child_process');
// Resolved from Slipway's own node_modules, above this buildpack in the repository.
const semver = require('semver');

const [buildDir, cacheDir, envDir] = process.argv.slice(2);
const INDENT = '       ';
const section = (text) => console.log(`-----> ${text}`);
const info = (text) => console.log(`${INDENT}${text}`);

class CompileFailure extends Error {}
const fail = (message) => {
  throw new CompileFailure(message);
};

// Config vars that would break the build machinery if copied into the build environment.
const RESERVED_VARS = new Set(['PATH', 'GIT_DIR', 'CPATH', 'CPPATH', 'LD_PRELOAD', 'LIBRARY_PATH', 'LANG', 'BUILD_DIR', 'HOME']);
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'overrides', 'bundleDependencies'];

main().catch((err) => {
  if (err instanceof CompileFailure) {
    for (const line of err.message.split('\n')) console.log(`${INDENT}! ${line}`);
  } else {
    console.log(`${INDENT}! Unexpected error in the Node.js buildpack: ${err && err.stack ? err.stack : err}`);
  }
  process.exit(1);
});

async function main() {
  const pkg = readPackageJson();
  const env = buildEnv();

  checkNodeVersion(pkg);

  if (hasScript(pkg, 'heroku-prebuild')) await runScript('heroku-prebuild', env);
  const install = await installDependencies(pkg, env);

  const buildScript = hasScript(pkg, 'heroku-postbuild') ? 'heroku-postbuild' : hasScript(pkg, 'build') ? 'build' : null;
  if (buildScript) {
    section('Build');
    await runScript(buildScript, env);
  }

  await pruneDevDependencies(pkg, env, install);
  writeProfile();
}

function readPackageJson() {
  const file = path.join(buildDir, 'package.json');
  try {
    const pkg = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!pkg || typeof pkg !== 'object' || Array.isArray(pkg)) fail('package.json must contain a JSON object; fix package.json.');
    return pkg;
  } catch (err) {
    if (err instanceof CompileFailure) throw err;
    fail(`package.json is not valid JSON (${err.message}); fix package.json and push again.`);
  }
}

/** The cleared build environment plus the app's config vars (read from ENV_DIR) and npm settings. */
function buildEnv() {
  const env = { ...process.env };
  if (envDir && fs.existsSync(envDir)) {
    for (const name of fs.readdirSync(envDir)) {
      if (!RESERVED_VARS.has(name)) env[name] = fs.readFileSync(path.join(envDir, name), 'utf8');
    }
  }
  return {
    NODE_ENV: 'production',
    ...env,
    npm_config_cache: path.join(cacheDir, 'npm'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    npm_config_prefer_offline: 'true',
  };
}

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

function hasScript(pkg, name) {
  return Boolean(pkg.scripts && typeof pkg.scripts[name] === 'string');
}

function checkNodeVersion(pkg) {
  section('Checking Node.js version');
  const range = pkg.engines && pkg.engines.node;
  const host = process.versions.node;
  if (range === undefined) {
    info(`engines.node (package.json): unspecified; using the host's Node.js ${host}`);
    return;
  }
  info(`engines.node (package.json): ${range}`);
  if (typeof range !== 'string' || semver.validRange(range) === null) {
    fail(`engines.node ${JSON.stringify(range)} in package.json is not a valid semver range; use one such as ">=18" or "20.x".`);
  }
  if (!semver.satisfies(host, range)) {
    fail(
      `This Slipway server runs Node.js ${host}, which does not satisfy engines.node "${range}" in package.json.\n` +
        `Change engines.node to a range that includes ${host} (for example ">=${semver.major(host)}" or "${semver.major(host)}.x").`,
    );
  }
  info(`Using the host's Node.js ${host}`);
}

/** A hash of everything that decides what `npm ci` puts into node_modules. */
function dependencyKey(pkg, lockfile) {
  const hash = crypto.createHash('sha256');
  hash.update(`node ${process.versions.node}\n`);
  for (const field of DEPENDENCY_FIELDS) hash.update(`${field} ${JSON.stringify(pkg[field] || null)}\n`);
  if (lockfile) hash.update(fs.readFileSync(path.join(buildDir, lockfile)));
  return hash.digest('hex');
}

async function installDependencies(pkg, env) {
  section('Installing dependencies');
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].find((f) => fs.existsSync(path.join(buildDir, f)));
  for (const other of ['yarn.lock', 'pnpm-lock.yaml']) {
    if (fs.existsSync(path.join(buildDir, other)) && !lockfile) {
      info(`${other} found, but this buildpack installs with npm; commit a package-lock.json for reproducible installs.`);
    }
  }
  const cache = path.join(cacheDir, 'nodejs');
  const cachedModules = path.join(cache, 'node_modules');
  const cachedKey = path.join(cache, 'node_modules.key');
  const buildModules = path.join(buildDir, 'node_modules');
  const key = dependencyKey(pkg, lockfile);
  const prunePlan = path.join(cache, 'prune-plan.json');
  const previousKey = fs.existsSync(cachedKey) ? fs.readFileSync(cachedKey, 'utf8').trim() : null;

  if (lockfile && previousKey === key && fs.existsSync(cachedModules)) {
    fs.rmSync(buildModules, { recursive: true, force: true });
    await run('cp', ['-a', '--reflink=auto', cachedModules, buildModules], env);
    info(`Restored node_modules from the build cache (${lockfile} is unchanged); skipping npm ci`);
    return { restored: true, key, prunePlan };
  }

  if (lockfile) {
    info(`Installing node modules from ${lockfile} (npm ci)`);
    await npm(['ci', '--include=dev', '--prefer-offline'], env, (code) => `npm ci failed (exit code ${code}); check that package-lock.json is in sync with package.json (run npm install locally and commit the lockfile).`);
  } else {
    if (fs.existsSync(cachedModules) && !fs.existsSync(buildModules)) {
      await run('cp', ['-a', '--reflink=auto', cachedModules, buildModules], env);
      info('Restored node_modules from the build cache');
    }
    info('Installing node modules (npm install; commit a package-lock.json for faster, reproducible builds)');
    await npm(['install', '--include=dev', '--prefer-offline', '--no-package-lock'], env, (code) => `npm install failed (exit code ${code}); see the npm output above.`);
  }
  fs.rmSync(prunePlan, { force: true });
  await saveCache(buildModules, cache, cachedModules, cachedKey, key, env);
  // Without a lockfile the tree can differ from build to build, so no prune shortcut.
  return { restored: false, key: lockfile ? key : null, prunePlan };
}

async function saveCache(buildModules, cache, cachedModules, cachedKey, key, env) {
  if (!fs.existsSync(buildModules)) return;
  fs.mkdirSync(cache, { recursive: true });
  const fresh = `${cachedModules}.tmp-${process.pid}`;
  fs.rmSync(fresh, { recursive: true, force: true });
  await run('cp', ['-a', '--reflink=auto', buildModules, fresh], env);
  fs.rmSync(cachedKey, { force: true });
  fs.rmSync(cachedModules, { recursive: true, force: true });
  fs.renameSync(fresh, cachedModules);
  fs.writeFileSync(cachedKey, `${key}\n`);
  info('Cached node_modules for the next build');
}

/**
 * Removes devDependencies from node_modules. `npm prune` is slow to start, so after a cache
 * miss the paths it removed are remembered; a warm build with the same lockfile deletes just
 * those paths and keeps whatever the build step wrote into node_modules (generated clients).
 */
async function pruneDevDependencies(pkg, env, install) {
  const modules = path.join(buildDir, 'node_modules');
  const devDependencies = Object.keys(pkg.devDependencies || {});
  if (devDependencies.length === 0 || !fs.existsSync(modules)) return;
  section('Pruning devDependencies');
  const plan = install.prunePlan;
  const saved = install.restored ? readJson(plan) : null;
  if (saved && saved.key === install.key && Array.isArray(saved.removed)) {
    const { removed, hiddenLockfile } = saved;
    for (const relative of removed.filter((p) => typeof p === 'string' && !p.split('/').includes('..'))) fs.rmSync(path.join(modules, relative), { recursive: true, force: true });
    if (hiddenLockfile !== null) fs.writeFileSync(path.join(modules, '.package-lock.json'), hiddenLockfile);
    info("Removed devDependencies the way npm prune did for this lockfile in the cached build");
    return;
  }
  const before = packagePaths(modules);
  await npm(['prune', '--omit=dev'], env, (code) => `npm prune failed (exit code ${code}); see the npm output above.`);
  if (!install.key) return;
  const after = new Set(packagePaths(modules));
  const hidden = path.join(modules, '.package-lock.json');
  fs.writeFileSync(
    plan,
    JSON.stringify({
      key: install.key,
      removed: before.filter((p) => !after.has(p)),
      hiddenLockfile: fs.existsSync(hidden) ? fs.readFileSync(hidden, 'utf8') : null,
    }),
  );
}

/** Package directories (and .bin links) inside a node_modules tree, relative to it. */
function packagePaths(modules, prefix = '') {
  const found = [];
  let entries;
  try {
    entries = fs.readdirSync(path.join(modules, prefix), { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const relative = prefix ? `${prefix}/${entry.name}` : entry.name;
    if (entry.name === '.bin') {
      for (const bin of fs.readdirSync(path.join(modules, relative))) found.push(`${relative}/${bin}`);
    } else if (entry.name.startsWith('@') && entry.isDirectory()) {
      found.push(...packagePaths(modules, relative));
    } else if (!entry.name.startsWith('.')) {
      found.push(relative);
      if (entry.isDirectory() && fs.existsSync(path.join(modules, relative, 'node_modules'))) {
        found.push(...packagePaths(modules, `${relative}/node_modules`));
      }
    }
  }
  return found;
}

async function runScript(name, env) {
  info(`Running ${name}`);
  await npm(['run', name], env, (code) => `The "${name}" script in package.json failed (exit code ${code}); its output is above. Fix it and push again.`);
}

/** Runs npm; on failure stops the build with `failure(exitCode)` as the message. */
async function npm(args, env, failure) {
  const code = await run('npm', args, env);
  if (code !== 0) fail(failure(code));
}

/** Runs a command in the build dir, indenting its output; resolves with the exit code. */
function run(cmd, args, env) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: buildDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const relay = (stream) => {
      let pending = '';
      stream.on('data', (chunk) => {
        pending += chunk;
        const lines = pending.split('\n');
        pending = lines.pop();
        for (const line of lines) console.log(`${INDENT}${line.replace(/\r$/, '')}`);
      });
      stream.on('end', () => pending && console.log(`${INDENT}${pending}`));
    };
    relay(child.stdout);
    relay(child.stderr);
    child.on('error', (err) => {
      console.log(`${INDENT}! could not run ${cmd}: ${err.message}`);
      resolve(127);
    });
    child.on('close', (code) => resolve(code === null ? 1 : code));
  });
}

/** Runtime environment for dynos: they source /app/.profile.d/*.sh with HOME=/app. */
function writeProfile() {
  const dir = path.join(buildDir, '.profile.d');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'nodejs.sh'),
    [
      '# Written by the Slipway Node.js buildpack.',
      'export PATH="$HOME/node_modules/.bin:$PATH"',
      'export NODE_ENV="${NODE_ENV:-production}"',
      '',
    ].join('\n'),
  );
}
