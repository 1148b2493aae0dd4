import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { EventBus } from '../core/events.js';
import type { RouteTable, RouteTarget } from './index.js';


/**
 * The router's view of which hostnames belong to which app, kept in memory (routing is
 * on the hot path and synchronous) and reloaded whenever an app or domain changes.
 */
export class RouteDirectory implements RouteTable {
  private byHost = new Map<string, RouteTarget>();
  private reloading: Promise<void> | null = null;
  private stale = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly appsDomain: string,
    private readonly backends: (appId: string) => { dyno: string; port: number }[],
    events: EventBus,
  ) {
    events.on('app.changed', () => void this.reload());
    events.on('app.deleted', () => void this.reload());
  }

  /** Reloads from the store; concurrent calls coalesce into at most one extra reload. */
  reload(): Promise<void> {
    if (this.reloading) {
      this.stale = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.stale = false;
        const apps = await this.db.selectFrom('apps').select(['id', 'name', 'maintenance']).execute();
        const domains = await this.db.selectFrom('domains').select(['app_id', 'hostname']).execute();
        const next = new Map<string, RouteTarget>();
        const byId = new Map<string, RouteTarget>();
        for (const app of apps) {
          const backends = () => this.backends(app.id);
          const entry: RouteTarget = { appId: app.id, appName: app.name, maintenance: app.maintenance === 1, backends };
          byId.set(app.id, entry);
          next.set(`${app.name}.${this.appsDomain}`, entry);
        }
        for (const domain of domains) {
          const entry = byId.get(domain.app_id);
          if (entry) next.set(domain.hostname.toLowerCase(), entry);
        }
        this.byHost = next;
      } while (this.stale);
    })().finally(() => (this.reloading = null));
    return this.reloading;
  }

  resolve(hostname: string): RouteTarget | undefined {
    return this.byHost.get(hostname);
  }
}
