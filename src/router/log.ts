/**
 * Heroku router log lines, e.g.
 *   at=info method=GET path="/" host=a.localhost request_id=… fwd="1.2.3.4" dyno=web.1
 *   connect=0ms service=3ms status=200 bytes=512 protocol=http
 */

/** Per-request facts shared by every line about that request. */
export interface RequestFacts {
  method: string;
  path: string;
  host: string;
  requestId: string;
  fwd: string;
  protocol: string;
}

/** Heroku's router error codes used by Slipway. */
export const ROUTER_ERRORS = {
  H10: 'App crashed',
  H12: 'Request timeout',
  H13: 'Connection closed without response',
  H14: 'No web processes running',
  H18: 'Server Request Interrupted',
  H27: 'Client Request Interrupted',
  H80: 'Maintenance mode',
} as const;

export type RouterErrorCode = keyof typeof ROUTER_ERRORS;

/** Quotes would let a client forge fields inside a quoted value. */
function quoted(value: string): string {
  return value.indexOf('"') === -1 ? value : value.replaceAll('"', '%22');
}

function tail(facts: RequestFacts, dyno: string, connect: string, service: string, status: number, bytes: string): string {
  return (
    'method=' + facts.method +
    ' path="' + quoted(facts.path) +
    '" host=' + facts.host +
    ' request_id=' + facts.requestId +
    ' fwd="' + quoted(facts.fwd) +
    '" dyno=' + dyno +
    ' connect=' + connect +
    ' service=' + service +
    ' status=' + status +
    ' bytes=' + bytes +
    ' protocol=' + facts.protocol
  );
}

export function infoLine(facts: RequestFacts, dyno: string, connectMs: number, serviceMs: number, status: number, bytes: number): string {
  return 'at=info ' + tail(facts, dyno, connectMs + 'ms', serviceMs + 'ms', status, String(bytes));
}

/** `dyno`/`connectMs`/`serviceMs` are left empty when no dyno was reached (as Heroku does). */
export function errorLine(
  code: RouterErrorCode,
  facts: RequestFacts,
  dyno: string,
  connectMs: number | undefined,
  serviceMs: number | undefined,
  status: number,
  bytes: number | undefined,
): string {
  return (
    'at=error code=' + code + ' desc="' + ROUTER_ERRORS[code] + '" ' +
    tail(
      facts,
      dyno,
      connectMs === undefined ? '' : connectMs + 'ms',
      serviceMs === undefined ? '' : serviceMs + 'ms',
      status,
      bytes === undefined ? '' : String(bytes),
    )
  );
}
