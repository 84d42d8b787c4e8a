import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed, wrapAwsError } from './errors.ts';

/** The sparse index of open live incidents, by deadline (infra/serverless/state.yml). */
export const DUE_INDEX = 'due-index';
/** The partition of that index: every open live incident with a deadline. */
export const DUE_SHARD = 'OPEN';

/**
 * The table as infra/serverless/state.yml declares it (a test holds the two
 * together): the local runtime and the tests create exactly this.
 */
export const TABLE_DEFINITION: Omit<CreateTableCommandInput, 'TableName'> = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: 'pk', AttributeType: 'S' },
    { AttributeName: 'openShard', AttributeType: 'S' },
    { AttributeName: 'due', AttributeType: 'S' },
  ],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
  GlobalSecondaryIndexes: [
    {
      IndexName: DUE_INDEX,
      KeySchema: [
        { AttributeName: 'openShard', KeyType: 'HASH' },
        { AttributeName: 'due', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    },
  ],
};

/**
 * Creates the pullmedic table (and its TTL) in a local AWS.
 *
 * @example
 * ```ts
 * await createPullmedicTable(dynamo, 'pullmedic-local');
 * ```
 */
export async function createPullmedicTable(
  client: DynamoDBClient,
  name: string
): Promise<void> {
  await client.send(
    new CreateTableCommand({ ...TABLE_DEFINITION, TableName: name })
  );
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: name,
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    })
  );
}

/**
 * The one pullmedic table (`pk` string key, TTL on `expiresAt`), as the
 * ports that live in it share it: incidents, roll locks, repeat notices
 * and Powertools' idempotency records are rows of it.
 *
 * @example
 * ```ts
 * const table = new PullmedicTable(documents, 'pullmedic-prod', 30 * 86400, () => new Date());
 * ```
 */
export class PullmedicTable {
  readonly client: DynamoDBDocumentClient;
  readonly name: string;
  readonly #ttlSeconds: number;
  readonly now: () => Date;

  constructor(
    client: DynamoDBDocumentClient,
    name: string,
    ttlSeconds: number,
    now: () => Date
  ) {
    this.client = client;
    this.name = name;
    this.#ttlSeconds = ttlSeconds;
    this.now = now;
  }

  /** When a row written now expires (epoch seconds). */
  expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + this.#ttlSeconds;
  }

  /**
   * Runs one call, turning an SDK error into an AwsCallError that says what
   * was being done and whether a retry can help.
   */
  async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapAwsError(action, err);
    }
  }

  /**
   * Runs a conditional write: true when it was made, false when its
   * condition did not hold; any other failure is an AwsCallError.
   */
  async conditional(
    action: string,
    fn: () => Promise<unknown>
  ): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (err) {
      if (isConditionalCheckFailed(err)) return false;
      throw wrapAwsError(action, err);
    }
  }
}
