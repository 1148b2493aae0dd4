/**
 * The URLs Slipway hands out (API, git remotes, app URLs, stream URLs). Ports are known
 * only after listening (tests listen on port 0), so they are filled in at start-up.
 */
export class PublicUrls {
  private httpPort = 0;
  private httpsPort = 0;

  constructor(
    private readonly host: string,
    private readonly appsDomain: string,
  ) {}

  setPorts(httpPort: number, httpsPort: number): void {
    this.httpPort = httpPort;
    this.httpsPort = httpsPort;
  }

  get http(): string {
    return `http://${this.host}:${this.httpPort}`;
  }

  get https(): string {
    return `https://${this.host}:${this.httpsPort}`;
  }

  get httpsHostPort(): string {
    return `${this.host}:${this.httpsPort}`;
  }

  /** The internal base URL processes on this machine use to call back (git hooks). */
  get internal(): string {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  appWebUrl(appName: string): string {
    return `http://${appName}.${this.appsDomain}:${this.httpPort}/`;
  }

  /** The git URL shown on the app: HTTPS, as the heroku CLI expects. */
  appGitUrl(appName: string): string {
    return `${this.https}/${appName}.git`;
  }

  appsHostSuffix(): string {
    return `.${this.appsDomain}`;
  }
}
