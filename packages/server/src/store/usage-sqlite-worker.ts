/**
 * The usage writer thread (see `SqliteUsageWriter`): its own connection to the node's SQLite
 * file, one `BEGIN IMMEDIATE` transaction per batch (events and roll-ups together), one batch
 * at a time, answered in order. The redaction of routes and user agents, the roll-up
 * arithmetic and the inserts all run here, off the request path.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { usageEventsOf } from '../usage/batch.ts';
import {
  sqliteUsageStatements,
  type UsageWriterReply,
  type UsageWriterRequest,
} from './usage-sqlite.ts';

const port = parentPort;
if (!port) throw new Error('usage-sqlite-worker.ts runs as a worker thread');

const database = new SQLite((workerData as { file: string }).file);
// The main connection set WAL mode (it is stored in the file); these are per connection.
database.pragma('synchronous = NORMAL');
database.pragma('busy_timeout = 5000');
const statements = sqliteUsageStatements(database);

port.on('message', (request: UsageWriterRequest) => {
  if (request.type === 'close') {
    database.close();
    port.close();
    return;
  }
  let reply: UsageWriterReply;
  try {
    statements.writeBatch(usageEventsOf(request.batch));
    reply = { id: request.id, ok: true };
  } catch (error) {
    const { message, code } = error as Error & { code?: unknown };
    reply = {
      id: request.id,
      ok: false,
      message: String(message),
      code: typeof code === 'string' ? code : undefined,
    };
  }
  port.postMessage(reply);
});
