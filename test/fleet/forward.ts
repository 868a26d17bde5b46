/**
 * Run inside a host's network namespace: `forward.ts <address> <port>...` listens on 127.0.0.1:<port> for each port
 * and forwards each connection to <address>:<port> (the root namespace's end of the veth). The engine then reaches
 * Redis, Slack and Kubernetes at the same loopback URLs as on one host (the Slack client sends its token in clear
 * only to loopback), over the veth. Prints "ready" once it listens; exits when its stdin closes (its test is gone).
 */
import { connect, createServer } from 'node:net';

const [address, ...ports] = process.argv.slice(2);
let listening = 0;
for (const port of ports.map(Number)) {
  const server = createServer((client) => {
    const upstream = connect(port, address);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.on('error', (err) => {
    process.stderr.write(`forward ${port}: ${err.message}\n`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    if (++listening === ports.length) process.stdout.write('ready\n');
  });
}
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
