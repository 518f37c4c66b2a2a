// Runs an Express 5 app with the broadcaster router in its own Node process (the vitest resolver applies
// ESM conditions to express's CommonJS dependencies, so express is exercised here in plain Node).
// Prints the base URL, then serves until killed.
import express from 'express';
import { createBroadcaster } from '../../src/broadcaster.js';
import { createBroadcasterRouter } from '../../src/express.js';

const dataDir = process.argv[2] as string;
const broadcaster = createBroadcaster({ dataDir });
const app = express();
app.use('/tv', express.json(), createBroadcasterRouter({ broadcaster }));
app.use((_request, response) => {
  response.status(404).send('express fallback');
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
