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

/** Local mode only: the embedded dynalite starts empty. dynalite turns a table ACTIVE at once (createTableMs 0). */
export async function ensureLocalTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw error;
  }
  await client.send(new CreateTableCommand(tableDefinition(tableName)));
  for (let attempt = 0; attempt < 100; attempt++) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') break;
  }
  try {
    await client.send(new UpdateTimeToLiveCommand(timeToLiveDefinition(tableName)));
  } catch {
    // dynalite does not implement TTL; expiry is then checked on read, as the store and idempotency both do.
  }
}
