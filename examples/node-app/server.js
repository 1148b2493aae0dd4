// A tiny web process: greets, echoes config vars, answers health checks, logs each request.
const http = require('node:http');
const { readFileSync } = require('node:fs');
const { greet } = require('greeting');

const port = Number(process.env.PORT || 5000);

const server = http.createServer((req, res) => {
  console.log(`${req.method} ${req.url}`);
  const reply = (status, body) => {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(body);
  };
  const url = new URL(req.url || '/', 'http://localhost');
  if (url.pathname === '/') return reply(200, `${greet('node-app')}\nDyno: ${process.env.DYNO || 'unknown'}\n`);
  if (url.pathname === '/health') return reply(200, 'ok\n');
  if (url.pathname === '/build-info') {
    try {
      return reply(200, readFileSync(`${__dirname}/build-info.txt`, 'utf8'));
    } catch {
      return reply(404, 'no build-info.txt: the build step did not run\n');
    }
  }
  const config = url.pathname.match(/^\/config\/([^/]+)$/);
  if (config) {
    const value = process.env[decodeURIComponent(config[1])];
    return value === undefined ? reply(404, 'not set\n') : reply(200, value);
  }
  reply(404, 'not found\n');
});

server.listen(port, () => console.log(`node-app listening on port ${port}`));

process.on('SIGTERM', () => {
  console.log('web received SIGTERM, shutting down');
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
