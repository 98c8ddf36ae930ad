import { CreateTableCommand, DescribeTableCommand, UpdateTimeToLiveCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { isPrescaleError } from '../../../lib/errors.ts';
import { ensureLocalTable } from '../../../lib/handlers/state.ts';

/** A DynamoDB stand-in: the table is missing until created, then reports `statuses` in turn (the last one forever). */
function stubClient(statuses: readonly string[]): { client: DynamoDBClient; sent: string[] } {
  const sent: string[] = [];
  let created = false;
  let describes = 0;
  const client = {
    async send(command: unknown) {
      sent.push((command as object).constructor.name);
      if (command instanceof DescribeTableCommand) {
        if (!created) throw Object.assign(new Error('no table'), { name: 'ResourceNotFoundException' });
        return { Table: { TableStatus: statuses[Math.min(describes++, statuses.length - 1)] } };
      }
      if (command instanceof CreateTableCommand) created = true;
      if (command instanceof UpdateTimeToLiveCommand) throw new Error('dynalite has no TTL');
      return {};
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

describe('ensureLocalTable', () => {
  it('creates a missing table, waits until it is ACTIVE, then asks for TTL (a refusal is fine)', async () => {
    const { client, sent } = stubClient(['CREATING', 'ACTIVE']);
    await ensureLocalTable(client, 'prescale-local', { timeoutMs: 1000, pollMs: 1 });
    // describe (missing) → create → describe (CREATING) → describe (ACTIVE) → TTL
    expect(sent).toEqual(['DescribeTableCommand', 'CreateTableCommand', 'DescribeTableCommand', 'DescribeTableCommand', 'UpdateTimeToLiveCommand']);
  });

  it('refuses with the table, its status and the wait when the table never becomes ACTIVE', async () => {
    const { client, sent } = stubClient(['CREATING']);
    const error = await ensureLocalTable(client, 'prescale-local', { timeoutMs: 30, pollMs: 5 }).catch((e: unknown) => e);
    expect(isPrescaleError(error) && error.code).toBe('unavailable');
    expect((error as Error).message).toBe('local state table "prescale-local" is still CREATING 30 ms after it was created');
    expect(sent).not.toContain('UpdateTimeToLiveCommand');
  });
});
