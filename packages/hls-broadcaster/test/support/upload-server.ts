// Runs a broadcaster with the plain node:http handler in its own Node process, so a test can SIGKILL it
// mid-upload (a crash). Creates the channel `main`, prints the base URL, then serves until killed.
import { createServer } from 'node:http';
import { createBroadcaster } from '../../src/broadcaster.js';
import { createHttpHandler } from '../../src/http-handler.js';

const dataDir = process.argv[2] as string;
const broadcaster = createBroadcaster({ dataDir });
await broadcaster.create('main');
const handler = createHttpHandler({ broadcaster });
const server = createServer((request, response) => void handler(request, response));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
