import {
  describeIncidentStoreContract,
  describeRepeatNoticesContract,
  describeRollLocksContract,
} from '#test/contracts/stores.contract.ts';
import { InMemoryIncidentStore } from '#test/fakes/in-memory-incident-store.ts';
import { InMemoryRepeatNotices } from '#test/fakes/in-memory-repeat-notices.ts';
import { InMemoryRollLocks } from '#test/fakes/in-memory-roll-locks.ts';

// The fakes the core's unit tests trust, held to the same contract as the
// DynamoDB adapters (test/integration/adapters/dynamodb-contracts.test.ts).
describeIncidentStoreContract(
  'in memory',
  async () => new InMemoryIncidentStore()
);
describeRollLocksContract('in memory', async () => new InMemoryRollLocks());
describeRepeatNoticesContract(
  'in memory',
  async () => new InMemoryRepeatNotices()
);
