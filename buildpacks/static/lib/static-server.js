'use strict';
/**
 * Slipway's static file server, copied into static apps as .slipway/static-server.js.
 * No dependencies. Serves static.json's "root", else public/ if present, else the app root,
 * on $PORT. Never serves dotfiles or anything outside the root.
 */
const http = require('http');
const fs = require('fs');
const path = require('path');

const appDir = path.resolve(__dirname, '..');
const port = Number(process.env.PORT || 5000);

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
  '.zip': 'application/zip',
  '.webmanifest': 'application/manifest+json',
};

function chooseRoot() {
  try {
    const config = JSON.parse(fs.readFileSync(path.join(appDir, 'static.json'), 'utf8'));
    if (config && typeof config.root === 'string') return path.resolve(appDir, config.root);
  } catch {
    // no static.json, or not usable: fall through to the defaults
  }
  const pub = path.join(appDir, 'public');
  return fs.existsSync(pub) && fs.statSync(pub).isDirectory() ? pub : appDir;
}

const root = fs.realpathSync(chooseRoot());
if (root !== appDir && !root.startsWith(appDir + path.sep)) {
  console.error(`static.json root ${root} lies outside the app directory; refusing to serve it`);
  process.exit(1);
}

const NOT_FOUND_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>Not Found</title></head>' +
  '<body><h1>404 Not Found</h1><p>The page you asked for does not exist.</p></body></html>\n';

/** Maps a URL path to a file under the root, or null when it must not be served. */
function resolveFile(urlPath) {
  let decoded;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const parts = decoded.split('/').filter((p) => p !== '');
  // Dotfiles and dot-directories (.env, .git, .profile.d, .slipway) are private; ".." too.
  if (parts.some((p) => p.startsWith('.'))) return null;
  const file = path.join(root, ...parts);
  return file === root || file.startsWith(root + path.sep) ? file : null;
}

/** Follows symlinks and re-checks the result still lies inside the root. */
function realInsideRoot(file) {
  try {
    const real = fs.realpathSync(file);
    return real === root || real.startsWith(root + path.sep) ? real : null;
  } catch {
    return null;
  }
}

function send(res, req, status, headers, body) {
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function notFound(req, res) {
  const custom = realInsideRoot(path.join(root, '404.html'));
  const body = custom && fs.statSync(custom).isFile() ? fs.readFileSync(custom) : NOT_FOUND_PAGE;
  send(res, req, 404, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) }, body);
}

function serveFile(req, res, file, stat) {
  const type = TYPES[path.extname(file).toLowerCase()] || 'application/octet-stream';
  const headers = {
    'Content-Type': type,
    'Content-Length': stat.size,
    'Last-Modified': stat.mtime.toUTCString(),
    'X-Content-Type-Options': 'nosniff',
  };
  const since = req.headers['if-modified-since'];
  if (since && Date.parse(since) >= Math.floor(stat.mtimeMs / 1000) * 1000) {
    res.writeHead(304, { 'Last-Modified': headers['Last-Modified'] });
    return res.end();
  }
  res.writeHead(200, headers);
  if (req.method === 'HEAD') return res.end();
  fs.createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}

const server = http.createServer((req, res) => {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return send(res, req, 405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }, 'Method Not Allowed\n');
  }
  const urlPath = (req.url || '/').split('?')[0].split('#')[0];
  const candidate = resolveFile(urlPath);
  const file = candidate && realInsideRoot(candidate);
  if (!file) return notFound(req, res);
  let stat = fs.statSync(file);
  let target = file;
  if (stat.isDirectory()) {
    if (!urlPath.endsWith('/')) {
      return send(res, req, 301, { Location: `${urlPath}/`, 'Content-Type': 'text/plain; charset=utf-8' }, `Moved to ${urlPath}/\n`);
    }
    target = realInsideRoot(path.join(file, 'index.html'));
    if (!target) return notFound(req, res);
    stat = fs.statSync(target);
  }
  if (!stat.isFile()) return notFound(req, res);
  serveFile(req, res, target, stat);
});

server.listen(port, () => {
  console.log(`Static file server serving ${path.relative(appDir, root) || '.'}/ on port ${port}`);
});

function shutdown(signal) {
  console.log(`Static file server received ${signal}, shutting down`);
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
