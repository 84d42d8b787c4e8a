import {
  IdempotencyConfig,
  IdempotencyPersistenceLayerError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { RunMode } from '../../core/context.ts';
import { messageOf } from '../../core/errors.ts';
import type { Envelope } from '../../events/schemas.ts';
import { required } from './config.ts';
import { asDecision, type Decision, type Decisions } from './decisions.ts';
import { recordKeys } from './eventbridge-queue-handler.ts';
import { logger } from './powertools.ts';
import type { Wiring } from './wiring.ts';

/**
 * The function's idempotency records, in the pullmedic table under
 * IDEMPOTENCY#<function>: a redelivered event gets the decision taken the
 * first time, emitted again, instead of a second decision.
 */
const idempotencyStore = ({ config, dynamo }: Wiring) =>
  new DynamoDBPersistenceLayer({
    tableName: required(config.tableName, 'PULLMEDIC_TABLE_NAME'),
    keyAttr: 'pk',
    expiryAttr: 'expiresAt',
    awsSdkV3Client: dynamo,
  });

/**
 * Each decision kept (Powertools idempotency, in the pullmedic table):
 * what the use case decided for an event is stored and handed back when
 * the same event comes again within the hour, so a redelivery (say, after
 * the publish failed) emits the first decision again and the claims it
 * made are not taken twice.
 *
 * @example
 * ```ts
 * queueFunction({ name: 'notify', decisions: keptDecisions, … });
 * ```
 */
export const keptDecisions: Decisions = (functionName, useCase) => {
  type D = Parameters<typeof useCase>[2];
  type T = Parameters<typeof useCase>[0]['detail'];
  const config = new IdempotencyConfig({
    eventKeyJmesPath: 'key',
    expiresAfterSeconds: 3600,
  });
  const idempotent = (wiring: Wiring) =>
    makeIdempotent(
      async (
        _key: { key: string },
        event: Envelope & { detail: T },
        run: RunMode,
        deps: D,
        looks: number,
        decided: (decision: Decision) => void
      ): Promise<Decision> => {
        const decision = asDecision(await useCase(event, run, deps, looks));
        decided(decision);
        return decision;
      },
      {
        persistenceStore: idempotencyStore(wiring),
        config,
        keyPrefix: `IDEMPOTENCY#${functionName}`,
        dataIndexArgument: 0,
      }
    );
  // Built once per wiring (one per handler; a test or the local runtime
  // may build several), on the first record.
  let built:
    | { wiring: Wiring; decide: ReturnType<typeof idempotent> }
    | undefined;

  return {
    // The in-progress record of a decision expires with this invocation:
    // without it, a Lambda timed out mid-decision would leave the event
    // "in progress" for the whole hour and its redeliveries would be
    // refused until the queue dead-lettered them.
    invoked: (context) => config.registerLambdaContext(context),
    async decide(event, run, deps, looks) {
      if (built?.wiring !== deps.wiring) {
        built = { wiring: deps.wiring, decide: idempotent(deps.wiring) };
      }
      // Keyed on the event and the look.
      let decided: Decision | undefined;
      try {
        return await built.decide(
          { key: `${event.id}#${looks}` },
          event,
          run,
          deps,
          looks,
          (d) => {
            decided = d;
          }
        );
      } catch (err) {
        // The use case decided and acted; only the save of its decision
        // failed. Its effects stand, so the record carries on with it:
        // failing the record would post or emit it a second time on the
        // redelivery.
        if (!(err instanceof IdempotencyPersistenceLayerError) || !decided)
          throw err;
        logger.warn(
          'the decision was taken but not saved; carrying on with it',
          { ...recordKeys(event), error: messageOf(err.cause ?? err) }
        );
        return decided;
      }
    },
  };
};
