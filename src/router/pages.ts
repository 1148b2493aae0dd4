/** The small HTML pages the router answers with when it cannot reach the app. */
import type { RouterErrorCode } from './log.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return (
    '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>' + title + '</title>' +
    '<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#333}' +
    'code{background:#f3f3f3;padding:.1em .3em}</style></head>\n<body><h1>' + title + '</h1>\n' +
    body + '\n</body></html>\n'
  );
}

/** The body of the 503 page for a router error on `app`. */
export function errorPage(code: RouterErrorCode, app: string, requestId: string): string {
  const a = escapeHtml(app);
  const id = `<p><small>Request ID: ${escapeHtml(requestId)}</small></p>`;
  const scale = `<code>slipway ps:scale web=1 -a ${a}</code>`;
  const logs = `<code>slipway logs -a ${a}</code>`;
  switch (code) {
    case 'H80':
      return page('Down for maintenance', `<p>${a} is in maintenance mode. Please try again shortly.</p>${id}`);
    case 'H14':
      return page(
        'Application not running',
        `<p>Application not running: no web dynos are up for ${a}. Scale with ${scale} or check ${logs}.</p>${id}`,
      );
    case 'H12':
      return page('Request timeout', `<p>${a} did not start its response in time. Check ${logs}.</p>${id}`);
    case 'H10':
      return page(
        'Application error',
        `<p>${a} is not accepting connections: its web dynos crashed or are not listening on $PORT. Check ${logs}.</p>${id}`,
      );
    default:
      return page('Application error', `<p>${a} closed the connection without a response. Check ${logs}.</p>${id}`);
  }
}
