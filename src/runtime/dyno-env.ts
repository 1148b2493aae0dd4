import type { AppRow, ReleaseRow, SlugRow } from '../store/schema.js';

/** The environment a dyno sees: the release's config vars plus Heroku's dyno metadata. */
export function dynoEnv(app: AppRow, release: ReleaseRow, slug: SlugRow | undefined, dyno: string, extra: Record<string, string> = {}): Record<string, string> {
  const config = JSON.parse(release.config) as Record<string, string>;
  return {
    ...config,
    DYNO: dyno,
    HEROKU_APP_ID: app.id,
    HEROKU_APP_NAME: app.name,
    HEROKU_RELEASE_VERSION: `v${release.version}`,
    HEROKU_RELEASE_CREATED_AT: release.created_at,
    ...(slug?.commit ? { HEROKU_SLUG_COMMIT: slug.commit, SOURCE_VERSION: slug.commit } : {}),
    ...(slug ? { HEROKU_SLUG_DESCRIPTION: slug.commit_description ?? '' } : {}),
    ...extra,
  };
}
