// Merge requests on CI projects (see service.ts).
export { MergeRequestService, mergeRequestNotFound, type MergeRequestServiceOptions, type Outcome, type ReviewAppLookup, type ReviewAppRef } from './service.js';
export { stateFilter, type MergeRequestInput } from './input.js';
export { isDraft, labelsOf } from './pipelines.js';
export type { MergeOptions } from './merge.js';
export type { MergeRequestState } from './records.js';
