/**
 * One-time push tokens. A token is made when an authenticated receive-pack starts, reaches
 * the pre-receive hook only through that process's environment, may be claimed by the hook
 * once, and is forgotten when the receive-pack request ends. It is the hook's only proof of
 * who pushed, so the internal route trusts nothing else.
 */
import { randomBytes } from 'node:crypto';
import type { GitAccount } from './types.js';

export interface PushSession {
  token: string;
  account: GitAccount;
  appName: string;
  /** An app's repository (deploys from pre-receive) or a CI project's (pipelines from post-receive). */
  kind: 'app' | 'project';
  repoDir: string;
  /** Aborted when the pusher disconnects or the hook's connection drops. */
  controller: AbortController;
  claimed: boolean;
}

export class PushSessions {
  private readonly sessions = new Map<string, PushSession>();

  open(account: GitAccount, appName: string, kind: 'app' | 'project' = 'app', repoDir = ''): PushSession {
    const session: PushSession = {
      token: randomBytes(32).toString('base64url'),
      account,
      appName,
      kind,
      repoDir,
      controller: new AbortController(),
      claimed: false,
    };
    this.sessions.set(session.token, session);
    return session;
  }

  /** Returns the session the first time a live token is presented, undefined ever after. */
  claim(token: unknown): PushSession | undefined {
    if (typeof token !== 'string') return undefined;
    const session = this.sessions.get(token);
    if (!session || session.claimed) return undefined;
    session.claimed = true;
    return session;
  }

  close(session: PushSession): void {
    this.sessions.delete(session.token);
  }

  get size(): number {
    return this.sessions.size;
  }
}
