/**
 * Heroku Platform API shapes of Slipway's records. Field names and types follow the
 * schema in shared/spec/heroku-platform-api.schema.json; a test validates every response.
 */
import type { AppRow, BuildRow, ReleaseRow, SlugRow, FormationRow, DomainRow } from '../store/schema.js';
import type { Account } from '../auth/accounts.js';
import type { DynoInfo } from '../runtime/dyno.js';
import type { PublicUrls } from '../core/urls.js';

// Fixed identities for the things Slipway has exactly one of.
export const REGION = { id: '5c1e8d0a-7b0e-4c1a-9f3e-000000000001', name: 'local' };
export const STACK = { id: '5c1e8d0a-7b0e-4c1a-9f3e-000000000024', name: 'slipway-24' };
export const GENERATION = { id: '5c1e8d0a-7b0e-4c1a-9f3e-0000000000ce', name: 'cedar' };

export type Ref = { id: string; email: string };

export function serializeAccount(account: Account) {
  return {
    allow_tracking: false,
    beta: false,
    created_at: account.created_at,
    email: account.email,
    federated: false,
    id: account.id,
    identity_provider: null,
    last_login: null,
    name: account.name,
    sms_number: null,
    suspended_at: null,
    delinquent_at: null,
    two_factor_authentication: false,
    updated_at: account.updated_at,
    verified: true,
    default_organization: null,
    default_team: null,
  };
}

export function serializeApp(app: AppRow, owner: Ref, urls: PublicUrls, slug?: Pick<SlugRow, 'size' | 'buildpack_provided_description'>) {
  return {
    acm: false,
    archived_at: null,
    buildpack_provided_description: slug?.buildpack_provided_description ?? null,
    build_stack: STACK,
    created_at: app.created_at,
    generation: GENERATION,
    git_url: urls.appGitUrl(app.name),
    id: app.id,
    internal_routing: false,
    maintenance: app.maintenance === 1,
    name: app.name,
    owner: { email: owner.email, id: owner.id },
    organization: null,
    team: null,
    region: REGION,
    released_at: app.released_at,
    repo_size: null,
    slug_size: slug?.size ?? null,
    space: null,
    stack: STACK,
    updated_at: app.updated_at,
    web_url: urls.appWebUrl(app.name),
  };
}

export function serializeRelease(release: ReleaseRow, app: Pick<AppRow, 'id' | 'name'>, user: Ref, currentId: string | undefined, outputUrl: string | null) {
  return {
    addon_plan_names: [] as string[],
    artifacts: release.slug_id ? [{ type: 'slug', id: release.slug_id }] : [],
    app: { id: app.id, name: app.name },
    created_at: release.created_at,
    description: release.description,
    id: release.id,
    updated_at: release.updated_at,
    slug: release.slug_id ? { id: release.slug_id } : null,
    status: release.status,
    user: { id: user.id, email: user.email },
    version: release.version,
    current: release.id === currentId,
    output_stream_url: outputUrl,
    // Rollback needs a slug to run: releases made before the first build are not targets.
    eligible_for_rollback: release.status === 'succeeded' && release.slug_id !== null,
  };
}

export function serializeSlug(slug: SlugRow, blobUrl: string) {
  return {
    blob: { method: 'get', url: blobUrl },
    buildpack_provided_description: slug.buildpack_provided_description,
    checksum: slug.checksum,
    commit: slug.commit,
    commit_description: slug.commit_description,
    created_at: slug.created_at,
    id: slug.id,
    process_types: JSON.parse(slug.process_types) as Record<string, string>,
    size: slug.size,
    stack: STACK,
    updated_at: slug.updated_at,
  };
}

export function serializeBuild(build: BuildRow, app: Pick<AppRow, 'id' | 'name'>, user: Ref, outputUrl: string) {
  return {
    app: { id: app.id },
    buildpacks: (JSON.parse(build.buildpacks) as string[]).map((url) => ({ url, name: url })),
    created_at: build.created_at,
    id: build.id,
    output_stream_url: outputUrl,
    source_blob: { checksum: null, url: build.source_url ?? '', version: build.source_version, version_description: null },
    release: build.release_id ? { id: build.release_id } : null,
    slug: build.slug_id ? { id: build.slug_id } : null,
    stack: STACK.name,
    status: build.status,
    updated_at: build.updated_at,
    user: { id: user.id, email: user.email },
  };
}

export function serializeFormation(entry: FormationRow & { command: string }, app: Pick<AppRow, 'id' | 'name'>) {
  return {
    app: { id: app.id, name: app.name },
    command: entry.command,
    created_at: entry.created_at,
    dyno_size: { id: sizeId(entry.size), name: entry.size },
    id: entry.id,
    quantity: entry.quantity,
    size: entry.size,
    type: entry.type,
    updated_at: entry.updated_at,
  };
}

export function serializeDyno(dyno: DynoInfo, app: Pick<AppRow, 'id' | 'name'>, attachUrl: string | null = null) {
  return {
    attach_url: attachUrl,
    command: dyno.command,
    created_at: dyno.createdAt,
    id: dyno.id,
    name: dyno.name,
    release: { id: dyno.releaseId, version: dyno.version },
    app: { id: app.id, name: app.name },
    size: dyno.size,
    state: dyno.state,
    type: dyno.type,
    updated_at: dyno.updatedAt,
  };
}

export function serializeDomain(domain: DomainRow, app: Pick<AppRow, 'id' | 'name'>, cname: string | null) {
  return {
    acm_status: null,
    acm_status_reason: null,
    app: { id: app.id, name: app.name },
    cname,
    created_at: domain.created_at,
    hostname: domain.hostname,
    id: domain.id,
    kind: domain.kind,
    updated_at: domain.updated_at,
    status: 'none',
    sni_endpoint: null,
  };
}

/** A stable UUID per dyno size name, so dyno_size.id is consistent across responses. */
function sizeId(size: string): string {
  let hash = 0;
  for (const ch of size.toLowerCase()) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return `5c1e8d0a-7b0e-4c1a-9f3e-${hash.toString(16).padStart(12, '0').slice(-12)}`;
}
