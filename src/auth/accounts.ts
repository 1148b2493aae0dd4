import type { Kysely } from 'kysely';
import type { Database, AccountRow } from '../store/schema.js';
import { newId, newSecret, now, sha256 } from '../core/ids.js';
import { conflict, forbidden, invalidParams, unauthorized } from '../core/errors.js';

export type Account = Pick<AccountRow, 'id' | 'email' | 'name' | 'created_at' | 'updated_at'> & { admin: boolean };

const EMAIL = /^[^\s@]+@[^\s@]+$/;

function toAccount(row: AccountRow): Account {
  return { id: row.id, email: row.email, name: row.name, admin: row.admin === 1, created_at: row.created_at, updated_at: row.updated_at };
}

/** Accounts and their API keys. Keys are random secrets stored only as SHA-256 hashes. */
export class AccountService {
  constructor(private readonly db: Kysely<Database>) {}

  /**
   * Creates the admin account on first start. Returns the new key (to print once), or
   * null when an admin already exists.
   */
  async bootstrap(adminEmail: string, presetKey?: string): Promise<{ account: Account; apiKey: string | null }> {
    const existing = await this.db.selectFrom('accounts').selectAll().where('admin', '=', 1).executeTakeFirst();
    if (existing) {
      // A preset key stays valid across restarts, so automation can rely on it.
      if (presetKey) await this.ensureKey(existing.id, presetKey, 'bootstrap key');
      return { account: toAccount(existing), apiKey: null };
    }
    const account = await this.createAccount(adminEmail, { admin: true });
    const apiKey = presetKey ?? newSecret(24);
    await this.ensureKey(account.id, apiKey, 'bootstrap key');
    return { account, apiKey };
  }

  async createAccount(email: string, options: { admin?: boolean; name?: string } = {}): Promise<Account> {
    if (typeof email !== 'string' || !EMAIL.test(email)) throw invalidParams(`Email ${JSON.stringify(email)} is not a valid address.`);
    const taken = await this.db.selectFrom('accounts').select('id').where('email', '=', email.toLowerCase()).executeTakeFirst();
    if (taken) throw conflict(`An account with email ${email} already exists.`);
    const row: AccountRow = {
      id: newId(),
      email: email.toLowerCase(),
      name: options.name ?? null,
      password_hash: null,
      admin: options.admin ? 1 : 0,
      created_at: now(),
      updated_at: now(),
    };
    await this.db.insertInto('accounts').values(row).execute();
    return toAccount(row);
  }

  /** Creates an account with a fresh API key; only admins may do it. */
  async createAccountWithKey(actor: Account, email: string): Promise<{ account: Account; apiKey: string }> {
    if (!actor.admin) throw forbidden('Only an admin can create accounts.');
    const account = await this.createAccount(email);
    const apiKey = newSecret(24);
    await this.ensureKey(account.id, apiKey, 'created by admin');
    return { account, apiKey };
  }

  async createKey(accountId: string, description: string): Promise<{ id: string; apiKey: string }> {
    const apiKey = newSecret(24);
    const id = await this.ensureKey(accountId, apiKey, description);
    return { id, apiKey };
  }

  private async ensureKey(accountId: string, apiKey: string, description: string): Promise<string> {
    const hash = sha256(apiKey);
    const found = await this.db.selectFrom('api_keys').select(['id', 'account_id']).where('token_hash', '=', hash).executeTakeFirst();
    if (found) return found.id;
    const id = newId();
    await this.db
      .insertInto('api_keys')
      .values({ id, account_id: accountId, token_hash: hash, description, created_at: now(), last_used_at: null, expires_at: null })
      .execute();
    return id;
  }

  /** The account owning an API key, or null. Never logs the key. */
  async authenticate(apiKey: string | undefined): Promise<Account | null> {
    if (!apiKey) return null;
    const row = await this.db
      .selectFrom('api_keys')
      .innerJoin('accounts', 'accounts.id', 'api_keys.account_id')
      .selectAll('accounts')
      .select(['api_keys.expires_at as key_expires_at'])
      .where('api_keys.token_hash', '=', sha256(apiKey))
      .executeTakeFirst();
    if (!row) return null;
    if (row.key_expires_at && row.key_expires_at < now()) return null;
    return toAccount(row);
  }

  async requireAccount(apiKey: string | undefined): Promise<Account> {
    const account = await this.authenticate(apiKey);
    if (!account) throw unauthorized('Invalid credentials provided: the API key is missing, wrong or revoked.');
    return account;
  }

  async findByEmailOrId(value: string): Promise<Account | null> {
    const row = await this.db
      .selectFrom('accounts')
      .selectAll()
      .where((eb) => eb.or([eb('email', '=', value.toLowerCase()), eb('id', '=', value)]))
      .executeTakeFirst();
    return row ? toAccount(row) : null;
  }

  async getById(id: string): Promise<Account | null> {
    const row = await this.db.selectFrom('accounts').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toAccount(row) : null;
  }
}
