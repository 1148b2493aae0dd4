/**
 * The pre-receive hook's body, run by `hooks/pre-receive` with the server's node. git gives
 * it one `<old> <new> <ref>` line per updated ref; it sends the commit for main/master to
 * the server that started this receive-pack, relays the build output (git shows our stderr
 * as `remote:` lines) and exits non-zero to reject the push when the deploy fails.
 * CI projects' repositories run it as `post-receive` (pipelines) and `update` (protected refs,
 * hook-update.ts) instead.
 */
import { execFileSync, spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import { updateHook } from './hook-update.js';
import { ARCHIVE_TYPE, DEPLOY_REFS, POST_RECEIVE_ROUTE, REF_UPDATES_TYPE, TOKEN_HEADER, type HookMessage } from './hook-protocol.js';

interface RefUpdate {
  oldSha: string;
  newSha: string;
  ref: string;
}

const isZero = (sha: string) => /^0+$/.test(sha);
const say = (line: string) => void process.stderr.write(`${line}\n`);
const branchName = (ref: string) => ref.replace(/^refs\/(heads|tags)\//, '');

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

function parseUpdates(text: string): RefUpdate[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [oldSha, newSha, ref] = line.trim().split(/\s+/);
      return { oldSha, newSha, ref };
    });
}

function currentHead(): string {
  try {
    return execFileSync('git', ['symbolic-ref', '-q', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

/** Uploads `git archive` of the commit and relays the server's output; true when the deploy succeeded. */
function deploy(update: RefUpdate, hookUrl: string, token: string): Promise<boolean> {
  const target = new URL(hookUrl);
  target.searchParams.set('ref', update.ref);
  target.searchParams.set('old', update.oldSha);
  target.searchParams.set('new', update.newSha);
  const client = target.protocol === 'https:' ? https : http;

  return new Promise((resolve) => {
    let finished = false;
    const finish = (ok: boolean, message?: string) => {
      if (finished) return;
      finished = true;
      if (message) say(message);
      resolve(ok);
    };

    const request = client.request(
      target,
      { method: 'POST', headers: { 'content-type': ARCHIVE_TYPE, [TOKEN_HEADER]: token } },
      (response) => {
        response.setEncoding('utf8');
        let buffer = '';
        if (response.statusCode !== 200) {
          response.on('data', (chunk: string) => (buffer += chunk));
          response.on('end', () => finish(false, `Deploy failed: Slipway answered ${response.statusCode}: ${buffer.trim()}`));
          return;
        }
        let verdict: boolean | undefined;
        const handle = (line: string) => {
          if (!line) return;
          let message: HookMessage;
          try {
            message = JSON.parse(line) as HookMessage;
          } catch {
            return say(line); // not ours to interpret (a proxy's error page?): show it as is
          }
          if ('out' in message) say(message.out);
          else {
            if (message.message) say(message.message);
            verdict = message.ok;
          }
        };
        response.on('data', (chunk: string) => {
          buffer += chunk;
          for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
            handle(buffer.slice(0, end));
            buffer = buffer.slice(end + 1);
          }
        });
        response.on('end', () => {
          handle(buffer);
          finish(verdict ?? false, verdict === undefined ? 'Deploy failed: the connection to Slipway ended before the build finished.' : undefined);
        });
        response.on('error', (err) => finish(false, `Deploy failed: lost the connection to Slipway (${err.message}).`));
      },
    );
    request.on('error', (err) => finish(false, `Deploy failed: could not reach Slipway at ${target.origin} (${err.message}).`));

    // The quarantine environment git gives this hook lets archive read the pushed objects.
    const archive = spawn('git', ['archive', '--format=tar', update.newSha], { stdio: ['ignore', 'pipe', 'pipe'] });
    let archiveError = '';
    archive.stderr.on('data', (chunk: Buffer) => (archiveError += chunk.toString()));
    // End the upload only once archive succeeded, so the server never builds a truncated tar.
    archive.stdout.pipe(request, { end: false });
    archive.on('error', (err) => {
      request.destroy();
      finish(false, `Deploy failed: could not run git archive (${err.message}).`);
    });
    archive.on('close', (code) => {
      if (code === 0) request.end();
      else {
        request.destroy();
        finish(false, `Deploy failed: git archive ${update.newSha} failed: ${archiveError.trim()}`);
      }
    });
  });
}

/** A CI project's post-receive: hands the updated refs to Slipway and shows what it says (pipeline URLs). */
function startPipelines(text: string, hookUrl: string, token: string): Promise<void> {
  const target = new URL(POST_RECEIVE_ROUTE, hookUrl);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    const request = client.request(target, { method: 'POST', headers: { 'content-type': REF_UPDATES_TYPE, [TOKEN_HEADER]: token } }, (response) => {
      response.setEncoding('utf8');
      let buffer = '';
      const handle = (line: string) => {
        if (!line) return;
        try {
          const message = JSON.parse(line) as HookMessage;
          if ('out' in message) say(message.out);
          else if (message.message) say(message.message);
        } catch {
          say(line);
        }
      };
      response.on('data', (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf('\n'); end >= 0; end = buffer.indexOf('\n')) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 1);
        }
      });
      response.on('end', () => (handle(buffer), resolve()));
      response.on('error', () => resolve());
    });
    request.on('error', (err) => (say(`Could not reach Slipway to start pipelines (${err.message}).`), resolve()));
    request.end(text);
  });
}

async function main(): Promise<number> {
  // If receive-pack is gone (the pusher hung up), writing to stderr fails: just stop.
  process.stderr.on('error', () => process.exit(1));
  const hookUrl = process.env.SLIPWAY_HOOK_URL;
  const token = process.env.SLIPWAY_PUSH_TOKEN;
  if (process.argv[2] === 'update') return updateHook(process.argv.slice(3), say);
  const input = await readStdin();
  if (process.argv[2] === 'post-receive') {
    if (hookUrl && token) await startPipelines(input, hookUrl, token);
    return 0;
  }
  const updates = parseUpdates(input);
  if (!hookUrl || !token) {
    say("This push did not come through Slipway's git endpoint, so it cannot be deployed.");
    return 1;
  }

  const head = currentHead();
  const deploys: RefUpdate[] = [];
  for (const update of updates) {
    const name = branchName(update.ref);
    const deletion = isZero(update.newSha);
    if (DEPLOY_REFS.includes(update.ref)) {
      if (!deletion) deploys.push(update);
      else if (update.ref === 'refs/heads/main' || update.ref === head) {
        say(`Deleting ${name} is not allowed: Slipway deploys this app from it. Push new commits to ${name} instead.`);
        return 1;
      } else say(`Deleted branch ${name}.`);
    } else if (update.ref.startsWith('refs/heads/')) {
      say(deletion ? `Deleted branch ${name}.` : `Pushed to branch ${name}; only main and master deploy.`);
    } else {
      say(deletion ? `Deleted ${update.ref}.` : `Pushed ${update.ref}; only main and master deploy.`);
    }
  }
  if (deploys.length === 0) return 0;
  const chosen = deploys.find((u) => u.ref === 'refs/heads/main') ?? deploys[0];
  if (deploys.length > 1) say('Pushed to both main and master; deploying main.');
  return (await deploy(chosen, hookUrl, token)) ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    say(`Deploy failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
