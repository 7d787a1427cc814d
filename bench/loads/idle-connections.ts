import { connect, type Socket } from 'node:net';
import { rssMiB } from '../child.ts';

export interface IdleResult {
  idleMiB: number;
  withConnectionsMiB: number;
}

/** RSS of the front at idle, and with `count` established, idle connections through it to the echo upstream. */
export async function idleConnectionsRss(port: number, pid: number, count = 1000): Promise<IdleResult> {
  const idleMiB = await rssMiB(pid);
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(100, count - i) },
        () =>
          new Promise<Socket>((resolve, reject) => {
            const socket = connect({ host: '127.0.0.1', port });
            socket.once('connect', () => socket.write('x'));
            socket.once('data', () => resolve(socket));
            socket.once('error', reject);
          }),
      ),
    );
    sockets.push(...batch);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const withConnectionsMiB = await rssMiB(pid);
  for (const socket of sockets) socket.destroy();
  return { idleMiB, withConnectionsMiB };
}
