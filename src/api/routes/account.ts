import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../context.js';
import { actorOf } from '../context.js';
import { serializeAccount } from '../serializers.js';
import { forbidden, notFound } from '../../core/errors.js';

export function accountRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const me = async (request: Parameters<typeof actorOf>[1]) => serializeAccount(await actorOf(deps, request));
  app.get('/account', me);
  app.get('/users/~', me);

  app.get('/users/:user', async (request) => {
    const actor = await actorOf(deps, request);
    const { user } = request.params as { user: string };
    const account = await deps.accounts.findByEmailOrId(user);
    if (!account) throw notFound('user', `Couldn't find the user ${user}.`);
    if (account.id !== actor.id && !actor.admin) throw forbidden('You can only see your own account.');
    return serializeAccount(account);
  });

  // Slipway extension: an admin creates an account and its first API key.
  app.post('/accounts', async (request, reply) => {
    const actor = await actorOf(deps, request);
    const body = (request.body ?? {}) as { email?: unknown };
    const { account, apiKey } = await deps.accounts.createAccountWithKey(actor, String(body.email ?? ''));
    reply.code(201);
    return { account: serializeAccount(account), api_key: apiKey };
  });

  // The heroku CLI asks these during login/logout; Slipway's keys are its sessions.
  app.get('/account/features/:feature', async (request) => {
    await actorOf(deps, request);
    const { feature } = request.params as { feature: string };
    throw notFound('feature', `Slipway has no account feature named ${feature}.`);
  });
}
