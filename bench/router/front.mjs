// Slipway's router in front of one backend, with a static route table. Prints its port.
// Usage: node front.mjs <backend-port> [hostname]
import http from 'node:http';
import { createRouter, frontDoor } from '../../dist/src/router/index.js';

const backendPort = Number(process.argv[2]);
const hostname = process.argv[3] ?? 'bench.localhost';
const backends = [{ dyno: 'web.1', port: backendPort }];
const target = { appId: 'bench', appName: 'bench', maintenance: false, backends: () => backends };
let lines = 0;
const router = createRouter({
  table: { resolve: (h) => (h === hostname ? target : undefined) },
  // Count instead of printing: the log line is still built, but the terminal is not the bottleneck.
  log: () => {
    lines++;
  },
});
const server = http.createServer((req, res) => {
  if (!router.handleRequest(req, res)) {
    res.writeHead(404);
    res.end('no such app\n');
  }
});
server.on('upgrade', (req, socket, head) => {
  if (!router.handleUpgrade(req, socket, head)) socket.destroy();
});
server.keepAliveTimeout = 65_000;
frontDoor(server, router); // as src/server.ts does: app requests never reach Node's http.Server
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => {
  router.close();
  console.error(`router: ${lines} log lines`);
  process.exit(0);
});
