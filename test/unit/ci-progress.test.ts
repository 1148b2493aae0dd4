/** GitLab's pipeline processing over stored job states (src/ci/run/progress.ts), as server mode uses it. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlannedJob } from '../../src/ci/index.js';
import { pipelineStatus, progress, type JobState, type JobStatus } from '../../src/ci/run/index.js';

function job(name: string, stageIndex: number, extra: Partial<PlannedJob> = {}): PlannedJob {
  return { name, baseName: name, stage: `s${stageIndex}`, stageIndex, when: 'on_success', allowFailure: false, needs: null, dependencies: null, variables: {}, nodeTotal: 1, config: {}, at: { file: '.gitlab-ci.yml', line: 1 }, ...extra } as PlannedJob;
}

const states = (...entries: Array<[PlannedJob, JobStatus, boolean?]>): JobState[] => entries.map(([j, status, allowed]) => ({ job: j, status, allowedFailure: allowed ?? false }));
const decided = (s: JobState[]) => Object.fromEntries(progress(s).map((t) => [s[t.index].job.name, t.status]));

test('stage order: a stage starts when the earlier ones are complete; a failure skips on_success and runs on_failure', () => {
  const build = job('build', 0);
  const unit = job('unit', 1);
  const cleanup = job('cleanup', 2, { when: 'on_failure' });
  const always = job('report', 2, { when: 'always' });
  assert.deepEqual(decided(states([build, 'running'], [unit, 'created'], [cleanup, 'created'])), {});
  assert.deepEqual(decided(states([build, 'success'], [unit, 'created'], [cleanup, 'created'], [always, 'created'])), { unit: 'pending' });
  assert.deepEqual(decided(states([build, 'failed'], [unit, 'created'], [cleanup, 'created'], [always, 'created'])), { unit: 'skipped', cleanup: 'pending', report: 'pending' });
  assert.deepEqual(decided(states([build, 'failed', true], [unit, 'created'])), { unit: 'pending' }, 'an allowed failure counts as success');
});

test('manual jobs: a blocking one holds later stages, an optional one does not; delayed jobs are scheduled', () => {
  const gate = job('gate', 0, { when: 'manual', allowFailure: false });
  const optional = job('optional', 0, { when: 'manual', allowFailure: true });
  const later = job('later', 1);
  const timed = job('timed', 1, { when: 'delayed', startIn: '1 hour' });
  const s = states([gate, 'created'], [optional, 'created'], [later, 'created'], [timed, 'created']);
  assert.deepEqual(decided(s), { gate: 'manual', optional: 'manual' });
  assert.equal(pipelineStatus(s), 'blocked');
  const played = states([gate, 'success'], [optional, 'manual'], [later, 'created'], [timed, 'created']);
  assert.deepEqual(decided(played), { later: 'pending', timed: 'scheduled' });
  assert.equal(pipelineStatus(played), 'running');
});

test('needs: a job waits only for what it needs; a skipped or failed need skips it; decisions cascade', () => {
  const a = job('a', 0);
  const b = job('b', 1, { needs: [{ job: 'a', artifacts: true, optional: false }] });
  const c = job('c', 1, { needs: [{ job: 'b', artifacts: true, optional: false }] });
  const slow = job('slow', 0);
  assert.deepEqual(decided(states([a, 'success'], [slow, 'running'], [b, 'created'], [c, 'created'])), { b: 'pending' });
  assert.deepEqual(decided(states([a, 'failed'], [slow, 'running'], [b, 'created'], [c, 'created'])), { b: 'skipped', c: 'skipped' });
  const manualNeed = job('m', 0, { when: 'manual', allowFailure: true });
  const after = job('after', 1, { needs: [{ job: 'm', artifacts: true, optional: false }] });
  assert.deepEqual(decided(states([manualNeed, 'manual'], [after, 'created'])), {}, 'a job needing an unplayed manual job waits');
});

test('pipeline status: failed > canceled > blocked > success; running while anything may still run', () => {
  const a = job('a', 0);
  const b = job('b', 1);
  assert.equal(pipelineStatus(states([a, 'success'], [b, 'pending'])), 'running');
  assert.equal(pipelineStatus(states([a, 'success'], [b, 'scheduled'])), 'running');
  assert.equal(pipelineStatus(states([a, 'failed'], [b, 'canceled'])), 'failed');
  assert.equal(pipelineStatus(states([a, 'success'], [b, 'canceled'])), 'canceled');
  assert.equal(pipelineStatus(states([a, 'failed', true], [b, 'skipped'])), 'success');
});
