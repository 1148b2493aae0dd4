// Row types of merge requests (src/projects/merge-requests), kept apart so schema.ts stays small.

/** A merge request on a CI project: a source branch proposed for a target branch. */
export interface MergeRequestRow {
  /** Instance-wide number as text (CI_MERGE_REQUEST_ID; ci_pipelines.merge_request_id). */
  id: string;
  project_id: string;
  /** Per-project number (`!N`, CI_MERGE_REQUEST_IID). */
  iid: number;
  title: string;
  description: string;
  /** JSON array of label names. */
  labels: string;
  source_branch: string;
  target_branch: string;
  /** opened, merged or closed. */
  state: string;
  author_id: string;
  /** The source branch's tip as last seen. */
  head_sha: string;
  /** The merge commit Slipway made (null after a fast-forward or a merge done by a push). */
  merge_commit_sha: string | null;
  merged_by_id: string | null;
  merged_at: string | null;
  closed_by_id: string | null;
  closed_at: string | null;
  created_at: string;
  updated_at: string;
}
