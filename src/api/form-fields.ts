/**
 * Text fields of a request the way GitLab's trigger endpoint takes them: a JSON body, a
 * urlencoded or multipart form (`curl -F token=… -F ref=main -F "variables[K]=v"`), or the
 * query string. `name[key]` fields become nested objects (`variables`, `inputs`).
 */
import type { FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { badRequest } from '../core/errors.js';

const MAX_FORM_BYTES = 256 * 1024;

export async function formFields(request: FastifyRequest): Promise<Record<string, unknown>> {
  const fields: Record<string, unknown> = {};
  const set = (name: string, value: unknown) => {
    const nested = /^(\w+)\[([^\]]+)\]$/.exec(name);
    if (!nested) return void (fields[name] = value);
    const holder = (fields[nested[1]] ??= {}) as Record<string, unknown>;
    if (typeof holder === 'object' && holder !== null && !Array.isArray(holder)) holder[nested[2]] = value;
  };
  for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) set(name, value);
  const body = request.body;
  if (body && typeof body === 'object' && typeof (body as Readable).pipe !== 'function' && !Buffer.isBuffer(body)) {
    for (const [name, value] of Object.entries(body)) set(name, value);
    return fields;
  }
  if (!body || typeof (body as Readable).pipe !== 'function') return fields;
  const text = await readText(body as Readable);
  const type = String(request.headers['content-type'] ?? '');
  if (type.startsWith('application/x-www-form-urlencoded')) {
    for (const [name, value] of new URLSearchParams(text)) set(name, value);
  } else if (type.startsWith('multipart/form-data')) {
    const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
    if (!boundary) throw badRequest('A multipart form needs a boundary in its Content-Type.');
    for (const [name, value] of multipartFields(text, boundary)) set(name, value);
  }
  return fields;
}

async function readText(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) throw badRequest(`The form is larger than ${MAX_FORM_BYTES / 1024} KB: send fewer or shorter fields.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The named text parts of a multipart body (file parts are read as text too). */
function multipartFields(text: string, boundary: string): [string, string][] {
  const fields: [string, string][] = [];
  for (const part of text.split(`--${boundary}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /content-disposition:[^\r\n]*\bname="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name !== undefined) fields.push([name, part.slice(split + 4).replace(/\r\n$/, '')]);
  }
  return fields;
}
