import { createServer, connect } from 'node:net';

const recentlyGiven = new Set<number>();

/** A free TCP port on 127.0.0.1 that this process has not handed out in the last minute. */
export async function allocatePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
      });
    });
    if (port && !recentlyGiven.has(port)) {
      recentlyGiven.add(port);
      setTimeout(() => recentlyGiven.delete(port), 60_000).unref();
      return port;
    }
  }
  throw new Error('No free port could be found for a dyno.');
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}
