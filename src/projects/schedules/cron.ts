/**
 * Cron lines as GitLab's pipeline schedules take them: five fields (minute hour day-of-month
 * month day-of-week, with lists, ranges, steps and names) or a macro (`@daily`…), read in an
 * IANA time zone (default UTC). cron-parser does the calendar work; this module decides what
 * is accepted and turns its complaints into messages that say what to fix.
 */
import { CronExpressionParser } from 'cron-parser';

const MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

export class CronError extends Error {}

/** Throws CronError unless `zone` is a time zone this machine knows (e.g. Europe/Paris). */
export function checkTimeZone(zone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new CronError(`${JSON.stringify(zone)} is not a time zone: use an IANA name such as UTC, Europe/Paris or America/New_York.`);
  }
}

/** The first time strictly after `after` that `cron` names in `zone`; throws CronError for a line it cannot read. */
export function nextRun(cron: string, zone: string, after: Date): Date {
  const line = cron.trim().replace(/\s+/g, ' ');
  checkTimeZone(zone);
  const macro = line.startsWith('@');
  if (macro ? !MACROS.has(line.toLowerCase()) : line.split(' ').length !== 5) {
    throw new CronError(
      `${JSON.stringify(cron)} is not a cron line: give five fields (minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5") or one of ${[...MACROS].join(', ')}.`,
    );
  }
  try {
    return CronExpressionParser.parse(macro ? line.toLowerCase() : line, { currentDate: after, tz: zone }).next().toDate();
  } catch (err) {
    throw new CronError(`${JSON.stringify(cron)} is not a valid cron line: ${(err as Error).message}.`);
  }
}
