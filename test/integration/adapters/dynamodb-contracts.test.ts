import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { DynamoDbIncidentStore } from '../../../adapters/aws/dynamodb-incident-store.ts';
import { DynamoDbRepeatNotices } from '../../../adapters/aws/dynamodb-repeat-notices.ts';
import { DynamoDbRollLocks } from '../../../adapters/aws/dynamodb-roll-locks.ts';
import {
  createPullmedicTable,
  PullmedicTable,
} from '../../../adapters/aws/dynamodb-table.ts';
import {
  describeIncidentStoreContract,
  describeRepeatNoticesContract,
  describeRollLocksContract,
} from '../../contracts/stores.contract.ts';
import { startTestAws } from '../../helpers/moto.ts';

// The DynamoDB adapters on the local emulator, held to the same contract
// as the in-memory fakes (test/unit/contracts/in-memory-stores.test.ts):
// each case gets a fresh table created as the stack creates it.
let aws: Awaited<ReturnType<typeof startTestAws>>;
let tables = 0;

beforeAll(async () => {
  aws = await startTestAws();
});
afterAll(async () => {
  await aws.stop();
});

const freshTable = async () => {
  const client = new DynamoDBClient(aws.clientConfig);
  const name = `contract-${++tables}`;
  await createPullmedicTable(client, name);
  return new PullmedicTable(
    DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    name,
    3600,
    () => new Date('2026-11-20T10:00:00Z')
  );
};

describeIncidentStoreContract(
  'DynamoDB on the local emulator',
  async () => new DynamoDbIncidentStore(await freshTable())
);
describeRollLocksContract(
  'DynamoDB on the local emulator',
  async () => new DynamoDbRollLocks(await freshTable())
);
describeRepeatNoticesContract(
  'DynamoDB on the local emulator',
  async () => new DynamoDbRepeatNotices(await freshTable())
);
