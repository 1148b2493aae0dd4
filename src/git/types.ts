import type { PushRules } from '../projects/push-rules.js';

export interface GitAccount {
  id: string;
  email: string;
}

/** One deploying push, handed to the platform while git waits for the verdict. */
export interface GitPush {
  appName: string;
  account: GitAccount;
  /** refs/heads/main or refs/heads/master: only these deploy. */
  ref: string;
  oldSha: string;
  newSha: string;
  /** A .tar of the pushed commit's tree; removed once onPush settles. */
  archivePath: string;
  /** Each line reaches the pusher as `remote: <line>` right away. */
  out(line: string): void;
  /** Aborted if the pusher (or the hook) disconnects. */
  signal: AbortSignal;
}

/** ok=false rejects the push (the ref is not updated) and shows `message`. */
export interface PushResult {
  ok: boolean;
  message?: string;
}

/** A push to a CI project's repository, after the refs were updated (post-receive). */
export interface ProjectPush {
  projectName: string;
  account: GitAccount;
  /** The project's bare repository; the pushed objects are in it. */
  repoDir: string;
  updates: Array<{ ref: string; oldSha: string; newSha: string }>;
  /** Each line reaches the pusher as `remote: <line>` right away. */
  out(line: string): void;
}

export interface GitRoutesOptions {
  /** Bare repositories live at <reposDir>/<app>.git. */
  reposDir: string;
  /** Receives the password of HTTP Basic auth (the username is ignored). */
  authenticate(apiKey: string): Promise<GitAccount | null>;
  /** Throws a PlatformError: 404 when the app does not exist, 403 when the account may not use it. */
  authorize(account: GitAccount, appName: string): Promise<void>;
  onPush(push: GitPush): Promise<PushResult>;
  /** CI projects: repositories at <reposDir>/projects/<name>.git whose pushes run pipelines. */
  projects?: {
    /** false when no project has this name; throws a PlatformError (403) when the account may not use it. */
    authorize(account: GitAccount, name: string): Promise<boolean>;
    onPush(push: ProjectPush): Promise<void>;
    /** Read when a push starts: what it may do to protected refs (checked per ref by the update hook). */
    pushRules?(name: string): Promise<PushRules>;
  };
  /** Base URL of this server as seen from its own machine; the pre-receive hook calls back here. */
  internalUrl(): string;
}

