import type { Kysely } from 'kysely';
import type { Database, AppRow, DomainRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { EventBus } from '../core/events.js';
import type { AppService } from './apps.js';
import { newId, now, stableId } from '../core/ids.js';
import { invalidParams, notFound } from '../core/errors.js';

/** A domain of an app as the API shows it: stored custom ones plus the built-in one. */
export interface AppDomain extends DomainRow {
  /** The DNS target a custom domain's CNAME must point at; null for the built-in one. */
  cname: string | null;
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Custom domains. Every app also answers on `<app>.<apps domain>` (kind `heroku`, not
 * stored); custom hostnames (kind `custom`) are unique across apps. The router learns about
 * changes through the `app.changed` event.
 */
export class DomainService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly events: EventBus,
    private readonly apps: AppService,
    private readonly appsDomain: string,
  ) {}

  /** The built-in hostname of an app. */
  defaultHostname(app: Pick<AppRow, 'name'>): string {
    return `${app.name}.${this.appsDomain}`;
  }

  async list(app: AppRow): Promise<AppDomain[]> {
    const rows = await this.db.selectFrom('domains').selectAll().where('app_id', '=', app.id).orderBy('created_at').orderBy('hostname').execute();
    return [this.builtIn(app), ...rows.map((row) => this.withCname(row, app))];
  }

  /** A domain of the app by hostname or id. */
  async get(app: AppRow, hostnameOrId: string): Promise<AppDomain> {
    const wanted = hostnameOrId.toLowerCase().replace(/\.$/, '');
    const found = (await this.list(app)).find((d) => d.id === hostnameOrId || d.hostname === wanted);
    if (!found) throw notFound('domain', `Couldn't find the domain ${hostnameOrId} on ${app.name}.`);
    return found;
  }

  async add(actor: Account, app: AppRow, input: { hostname?: unknown; sni_endpoint?: unknown }): Promise<AppDomain> {
    if (input.sni_endpoint !== undefined && input.sni_endpoint !== null) {
      throw invalidParams('Slipway does not manage SNI endpoints (certificates); add the domain without --cert.');
    }
    const hostname = this.validate(input.hostname);
    const existing = await this.db.selectFrom('domains').selectAll().where('hostname', '=', hostname).executeTakeFirst();
    if (existing) throw await this.inUse(actor, hostname, existing.app_id);
    const stamp = now();
    const row: DomainRow = { id: newId(), app_id: app.id, hostname, kind: 'custom', created_at: stamp, updated_at: stamp };
    try {
      await this.db.insertInto('domains').values(row).execute();
    } catch (err) {
      // Two concurrent adds of one hostname: the unique index decides.
      if (/unique|duplicate/i.test(String(err))) throw invalidParams(`The domain ${hostname} is already in use.`);
      throw err;
    }
    this.events.emit('app.changed', { appId: app.id });
    return this.withCname(row, app);
  }

  async remove(app: AppRow, hostnameOrId: string): Promise<AppDomain> {
    const domain = await this.get(app, hostnameOrId);
    if (domain.kind !== 'custom') {
      throw invalidParams(`${domain.hostname} is the built-in domain of ${app.name} and cannot be removed.`);
    }
    await this.db.deleteFrom('domains').where('id', '=', domain.id).execute();
    this.events.emit('app.changed', { appId: app.id });
    return domain;
  }

  private validate(value: unknown): string {
    if (typeof value !== 'string' || value.trim() === '') {
      throw invalidParams('Give the hostname to add, e.g. {"hostname": "www.example.com"}.');
    }
    const hostname = value.trim().toLowerCase().replace(/\.$/, '');
    const invalid = (why: string) => invalidParams(`${JSON.stringify(value)} is not a valid hostname: ${why}.`);
    if (hostname.includes('*')) throw invalid('wildcard domains are not supported by Slipway; add each hostname');
    if (/[/:@\s]/.test(hostname)) throw invalid('give a bare hostname such as www.example.com, without a scheme, port or path');
    if (hostname.length > 253) throw invalid('it is longer than 253 characters');
    const labels = hostname.split('.');
    if (labels.length < 2) throw invalid('it needs at least two labels, such as example.com');
    if (IPV4.test(hostname)) throw invalid('IP addresses cannot be app domains');
    for (const label of labels) {
      if (!LABEL.test(label)) throw invalid(`the label ${JSON.stringify(label)} must be 1 to 63 letters, digits or dashes, not starting or ending with a dash`);
    }
    if (hostname === this.appsDomain || hostname.endsWith(`.${this.appsDomain}`)) {
      throw invalidParams(`${hostname} is under ${this.appsDomain}, which Slipway reserves for app names (<app>.${this.appsDomain}); use a domain of your own.`);
    }
    return hostname;
  }

  /** "Already in use", naming the app only when the caller may see it. */
  private async inUse(actor: Account, hostname: string, ownerAppId: string): Promise<Error> {
    const owner = await this.apps.getById(ownerAppId);
    if (owner && (await this.apps.canAccess(actor, owner))) {
      return invalidParams(`The domain ${hostname} is already in use by the app ${owner.name}; remove it there first (heroku domains:remove ${hostname} -a ${owner.name}).`);
    }
    return invalidParams(`The domain ${hostname} is already in use.`);
  }

  private withCname(row: DomainRow, app: AppRow): AppDomain {
    return { ...row, cname: row.kind === 'custom' ? this.defaultHostname(app) : null };
  }

  private builtIn(app: AppRow): AppDomain {
    return {
      id: stableId(`${app.id}:heroku-domain`),
      app_id: app.id,
      hostname: this.defaultHostname(app),
      kind: 'heroku',
      cname: null,
      created_at: app.created_at,
      updated_at: app.created_at,
    };
  }
}
