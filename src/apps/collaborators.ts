import type { Kysely } from 'kysely';
import type { Database, AppRow } from '../store/schema.js';
import type { Account, AccountService } from '../auth/accounts.js';
import { newId, now, stableId } from '../core/ids.js';
import { forbidden, invalidParams, notFound } from '../core/errors.js';

/** One person with access to an app: its owner (role `owner`) or a collaborator. */
export interface AppCollaborator {
  id: string;
  appId: string;
  user: { id: string; email: string };
  role: 'owner' | 'collaborator';
  created_at: string;
  updated_at: string;
}

/**
 * Collaborators of an app. A collaborator may do everything with the app (deploy, config,
 * scale, run, logs, domains) except destroy it or manage its collaborators, which only the
 * owner (or an admin) may do. `AppService.canAccess` reads the same table.
 */
export class CollaboratorService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly accounts: AccountService,
  ) {}

  /** The owner first, then collaborators in the order they were added. */
  async list(app: AppRow): Promise<AppCollaborator[]> {
    const owner = await this.accounts.getById(app.owner_id);
    const rows = await this.db
      .selectFrom('collaborators')
      .innerJoin('accounts', 'accounts.id', 'collaborators.account_id')
      .select(['collaborators.id', 'collaborators.created_at', 'collaborators.updated_at', 'accounts.id as account_id', 'accounts.email'])
      .where('collaborators.app_id', '=', app.id)
      .orderBy('collaborators.created_at')
      .orderBy('accounts.email')
      .execute();
    const ownerEntry: AppCollaborator = {
      id: stableId(`${app.id}:owner`),
      appId: app.id,
      user: { id: app.owner_id, email: owner?.email ?? 'deleted-account@slipway.local' },
      role: 'owner',
      created_at: app.created_at,
      updated_at: app.created_at,
    };
    return [
      ownerEntry,
      ...rows.map((r) => ({ id: r.id, appId: app.id, user: { id: r.account_id, email: r.email }, role: 'collaborator' as const, created_at: r.created_at, updated_at: r.updated_at })),
    ];
  }

  /** A collaborator (or the owner) by collaborator id, account id or email. */
  async get(app: AppRow, ref: string): Promise<AppCollaborator> {
    const wanted = ref.toLowerCase();
    const found = (await this.list(app)).find((c) => c.id === ref || c.user.id === ref || c.user.email === wanted);
    if (!found) throw notFound('collaborator', `${ref} is not a collaborator on ${app.name}.`);
    return found;
  }

  async add(actor: Account, app: AppRow, user: unknown): Promise<AppCollaborator> {
    this.requireOwner(actor, app, 'add collaborators to');
    if (typeof user !== 'string' || user.trim() === '') {
      throw invalidParams('Give the account to add, e.g. {"user": "someone@example.com"}.');
    }
    const account = await this.accounts.findByEmailOrId(user.trim());
    if (!account) {
      throw notFound(
        'user',
        `There is no Slipway account for ${user}. An admin can create it with \`slipway accounts:create ${user}\`, then add it again.`,
      );
    }
    if (account.id === app.owner_id) throw invalidParams(`${account.email} owns ${app.name} already.`);
    const existing = await this.db
      .selectFrom('collaborators')
      .select('id')
      .where('app_id', '=', app.id)
      .where('account_id', '=', account.id)
      .executeTakeFirst();
    if (existing) throw invalidParams(`${account.email} is already a collaborator on ${app.name}.`);
    const stamp = now();
    const id = newId();
    try {
      await this.db.insertInto('collaborators').values({ id, app_id: app.id, account_id: account.id, role: 'collaborator', created_at: stamp, updated_at: stamp }).execute();
    } catch (err) {
      if (/unique|duplicate/i.test(String(err))) throw invalidParams(`${account.email} is already a collaborator on ${app.name}.`);
      throw err;
    }
    return { id, appId: app.id, user: { id: account.id, email: account.email }, role: 'collaborator', created_at: stamp, updated_at: stamp };
  }

  /** The owner removes anyone; a collaborator may remove only themselves (leave the app). */
  async remove(actor: Account, app: AppRow, ref: string): Promise<AppCollaborator> {
    const collaborator = await this.get(app, ref);
    if (collaborator.role === 'owner') {
      throw invalidParams(`${collaborator.user.email} owns ${app.name}; the owner cannot be removed (destroy the app instead).`);
    }
    if (collaborator.user.id !== actor.id) this.requireOwner(actor, app, 'remove collaborators from');
    await this.db.deleteFrom('collaborators').where('id', '=', collaborator.id).execute();
    return collaborator;
  }

  private requireOwner(actor: Account, app: AppRow, what: string): void {
    if (actor.admin || actor.id === app.owner_id) return;
    throw forbidden(`Only the owner of ${app.name} can ${what} it; collaborators cannot manage access.`);
  }
}
