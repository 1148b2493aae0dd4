// login, logout, auth:whoami, auth:token, accounts:create
import { str, type CommandSpec } from '../args.js';
import { ApiClient, ApiError } from '../client.js';
import { client } from '../app-resolution.js';
import { DEFAULT_URL, credentialsPath, loadCredentials, normalizeUrl, readStored, removeStored, writeStored } from '../credentials.js';
import { CliError, action, err, out, printJson } from '../output.js';

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let value = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (e?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (e) reject(e);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('Cancelled.', 130));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

/** Reads a visible line from the terminal. */
export async function promptLine(question: string): Promise<string> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(question)).trim();
  } finally {
    rl.close();
  }
}

export const authCommands: CommandSpec[] = [
  {
    name: 'login',
    summary: 'log in to a Slipway server with an API key',
    usage: '[--url URL] [--api-key KEY]',
    flags: {
      url: { type: 'string', description: `Slipway server URL (default: SLIPWAY_URL, the stored URL, or ${DEFAULT_URL})`, valueName: 'URL' },
      'api-key': { type: 'string', description: 'API key (prompted for when omitted and stdin is a terminal)', valueName: 'KEY' },
    },
    description: `Verifies the key with GET /account and stores {url, apiKey, email} in
$SLIPWAY_CONFIG_DIR/credentials.json (default ~/.config/slipway, mode 0600).
SLIPWAY_URL and SLIPWAY_API_KEY override the stored values for any command.`,
    examples: ['slipway login --url http://127.0.0.1:5000 --api-key $KEY', 'slipway login --url https://slipway.example.com'],
    maxArgs: 0,
    async run({ flags }) {
      let stored;
      try {
        stored = readStored();
      } catch {
        stored = undefined;
      }
      const url = normalizeUrl(str(flags.url) ?? process.env.SLIPWAY_URL ?? stored?.url ?? DEFAULT_URL);
      let apiKey = str(flags['api-key']);
      if (!apiKey) {
        if (!process.stdin.isTTY) {
          throw new CliError('No API key given. Use: slipway login --url URL --api-key KEY (stdin is not a terminal, so there is no prompt).');
        }
        err(`Logging in to ${url}`);
        apiKey = (await promptHidden('API key: ')).trim();
        if (!apiKey) throw new CliError('No API key entered.');
      }
      const api = new ApiClient({ url, apiKey, keySource: 'file' });
      let account: { email?: string };
      try {
        account = await api.get('/account');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) throw new CliError(`${e.message}\nThat API key was rejected by ${url}; nothing was saved.`);
        throw e;
      }
      if (stored && stored.url !== url) removeStored();
      writeStored({ url, apiKey, email: account.email });
      out(`Logged in to ${url} as ${account.email ?? 'unknown'}`);
    },
  },
  {
    name: 'logout',
    summary: 'forget the stored API key',
    maxArgs: 0,
    examples: ['slipway logout'],
    async run() {
      const had = removeStored();
      out(had ? 'Logged out.' : 'Not logged in.');
      if (process.env.SLIPWAY_API_KEY) err('Note: SLIPWAY_API_KEY is still set in your environment.');
    },
  },
  {
    name: 'auth:whoami',
    aliases: ['whoami'],
    summary: 'show the email of the logged-in account',
    maxArgs: 0,
    examples: ['slipway auth:whoami'],
    async run() {
      const creds = loadCredentials();
      const api = new ApiClient(creds);
      try {
        const account = await api.get<{ email: string }>('/account');
        out(account.email);
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) {
          const where = creds.keySource === 'env' ? 'SLIPWAY_API_KEY' : credentialsPath();
          throw new CliError(`${e.message}\nThe API key in ${where} is not valid for ${creds.url}. Run: slipway login --url ${creds.url}`);
        }
        throw e;
      }
    },
  },
  {
    name: 'auth:token',
    summary: 'print the API key in use (for git pushes, curl or HEROKU_API_KEY)',
    maxArgs: 0,
    description: `Prints the API key the other commands use (SLIPWAY_API_KEY, or the stored one) and
nothing else, so it can be used in scripts. Git accepts it as the password of any user name.`,
    examples: ['slipway auth:token', 'curl -H "Authorization: Bearer $(slipway auth:token)" http://127.0.0.1:5000/account'],
    async run() {
      const creds = loadCredentials();
      if (creds.keySource === 'job') err('Note: this is the CI job token of the running job; it stops working when the job ends.');
      out(creds.apiKey);
    },
  },
  {
    name: 'accounts:create',
    summary: 'create an account and its API key (admins only)',
    usage: 'EMAIL',
    flags: { json: { type: 'boolean', description: 'print the raw API answer' } },
    minArgs: 1,
    maxArgs: 1,
    examples: ['slipway accounts:create dev@example.com'],
    async run({ flags, args }) {
      const api = client();
      const email = args[0];
      const result = await action(`Creating account ${email}`, () =>
        api.post<{ account: { id: string; email: string }; api_key: string }>('/accounts', { email }),
      );
      if (flags.json) return printJson(result);
      out(`Account: ${result.account?.email ?? email}`);
      out(`API key: ${result.api_key}`);
      err(`Give the key to its owner; they log in with: slipway login --url ${api.url} --api-key KEY`);
    },
  },
];
