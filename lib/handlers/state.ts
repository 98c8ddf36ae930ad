/**
 * The handlers' seam to lib/state: the state store on the single table and
 * the key attribute names the idempotency records share it with.
 */
import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PrescaleError } from '../errors.ts';
import type { StateStore } from '../ports.ts';
import { createDynamoStateStore, tableDefinition, timeToLiveDefinition, TTL_ATTRIBUTE } from '../state/dynamodb.ts';

/** Idempotency records live in the state table under their own partition (`idempotency#<function>`). */
export interface TableKeys {
  readonly partitionKey: string;
  readonly sortKey: string;
}

/** Read from lib/state's table definition, so the idempotency records can never disagree with it. */
export function tableKeys(): TableKeys {
  const schema = tableDefinition('any').KeySchema ?? [];
  const partitionKey = schema.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const sortKey = schema.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (partitionKey === undefined || sortKey === undefined) throw new PrescaleError('internal', 'the state table needs a partition key and a sort key');
  return { partitionKey, sortKey };
}

export const TABLE_KEYS: TableKeys = tableKeys();
export { TTL_ATTRIBUTE };

export function createStateStore(client: DynamoDBClient, tableName: string): StateStore {
  return createDynamoStateStore({ client, tableName });
}

/** How long local mode waits for its table, and how often it looks. */
export interface LocalTableWait {
  readonly timeoutMs: number;
  readonly pollMs: number;
}

const LOCAL_TABLE_WAIT: LocalTableWait = { timeoutMs: 10_000, pollMs: 20 };

/**
 * Local mode only: the embedded dynalite starts empty. dynalite turns a table
 * ACTIVE on its next tick (createTableMs 0); one that never does is a broken
 * local setup, reported as such rather than left to fail on the first write.
 */
export async function ensureLocalTable(client: DynamoDBClient, tableName: string, wait: LocalTableWait = LOCAL_TABLE_WAIT): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(tableDefinition(tableName)));
  const deadlineMs = Date.now() + wait.timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
    if (Date.now() >= deadlineMs) {
      throw new PrescaleError('unavailable', `local state table "${tableName}" is still ${Table?.TableStatus ?? 'without a status'} ${wait.timeoutMs} ms after it was created`, { retryable: true });
    }
    await new Promise((resolve) => setTimeout(resolve, wait.pollMs));
  }
  try {
    await client.send(new UpdateTimeToLiveCommand(timeToLiveDefinition(tableName)));
  } catch {
    // dynalite does not implement TTL; expiry is then checked on read, as the store and idempotency both do.
  }
}
