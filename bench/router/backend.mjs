// The app being proxied: the smallest useful Node HTTP server. Prints its port on stdout.
import http from 'node:http';

const body = Buffer.from('Hello from a Slipway dyno\n');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65_000; // like a real app behind a proxy: outlive the proxy's idle sockets
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => console.log(server.address().port));
process.on('SIGTERM', () => process.exit(0));
