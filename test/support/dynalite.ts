/**
 * An embedded DynamoDB (dynalite, in memory) for integration tests: no
 * network beyond 127.0.0.1, fake credentials, the same table schema the
 * deployed stack uses (tableDefinition), created the way local mode creates it
 * (ensureLocalTable).
 */
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { ensureLocalTable } from '../../lib/handlers/state.ts';

export interface DynaliteHandle {
  readonly client: DynamoDBClient;
  /** The table created at start. */
  readonly tableName: string;
  readonly endpoint: string;
  /** Another empty table on the same server (a fresh one per test keeps tests independent). */
  createTable(tableName?: string): Promise<string>;
  close(): Promise<void>;
}

let tableCounter = 0;

function nextTableName(): string {
  tableCounter += 1;
  // DynamoDB table names are 3–255 characters of [a-zA-Z0-9_.-].
  return `prescale-test-${process.pid}-${tableCounter}`;
}

export async function startDynalite(): Promise<DynaliteHandle> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
    // A local server: a failure is a bug to see at once, not something to retry.
    maxAttempts: 1,
  });
  const createTable = async (tableName: string = nextTableName()): Promise<string> => {
    await ensureLocalTable(client, tableName);
    return tableName;
  };
  try {
    const tableName = await createTable();
    return {
      client,
      tableName,
      endpoint,
      createTable,
      close: async () => {
        client.destroy();
        await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      },
    };
  } catch (error) {
    client.destroy();
    server.close();
    throw error;
  }
}
