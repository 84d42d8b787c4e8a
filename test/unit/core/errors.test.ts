import { describe, expect, it } from 'vitest';
import {
  AwsCallError,
  assertIsError,
  isPermanentFailure,
  MalformedEventError,
  messageOf,
  NodeNotFoundError,
  PullmedicError,
} from '#core/errors.ts';

describe('Class: PullmedicError', () => {
  it('keeps the message, the name and the cause', () => {
    // Prepare
    const cause = new Error('root');

    // Act
    const err = new PullmedicError('broken', { cause });

    // Assess
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('PullmedicError');
    expect(err.message).toBe('broken');
    expect(err.cause).toBe(cause);
  });
});

describe('Class: MalformedEventError', () => {
  it('is a PullmedicError named MalformedEventError', () => {
    // Act
    const err = new MalformedEventError('detail.node.name: not a name');

    // Assess
    expect(err).toBeInstanceOf(PullmedicError);
    expect(err.name).toBe('MalformedEventError');
    expect(err.message).toBe('detail.node.name: not a name');
  });
});

describe('Class: NodeNotFoundError', () => {
  it('names the instance, and is a failure retrying cannot mend', () => {
    // Act
    const err = new NodeNotFoundError('i-0abc12345678def90');

    // Assess
    expect(err).toBeInstanceOf(PullmedicError);
    expect(err.name).toBe('NodeNotFoundError');
    expect(err.instanceId).toBe('i-0abc12345678def90');
    expect(err.message).toBe(
      'no EC2 instance i-0abc12345678def90 found: it is gone'
    );
    expect(isPermanentFailure(err)).toBe(true);
    expect(err.code).toBe('InvalidInstanceID.NotFound');
  });
});

describe('Class: AwsCallError', () => {
  it('appends the cause name and message when the cause is an Error', () => {
    // Prepare
    const cause = new Error('Rate exceeded');
    cause.name = 'ThrottlingException';

    // Act
    const err = new AwsCallError('sending the prune', { cause });

    // Assess
    expect(err).toBeInstanceOf(PullmedicError);
    expect(err.name).toBe('AwsCallError');
    expect(err.action).toBe('sending the prune');
    expect(err.message).toBe(
      'sending the prune failed: ThrottlingException: Rate exceeded'
    );
    expect(err.cause).toBe(cause);
  });

  it('says only that the action failed when the cause is not an Error', () => {
    // Act
    const withString = new AwsCallError('reading the incident', {
      cause: 'socket hang up',
    });
    const withoutCause = new AwsCallError('reading the incident');

    // Assess
    expect(withString.message).toBe('reading the incident failed');
    expect(withString.cause).toBe('socket hang up');
    expect(withoutCause.message).toBe('reading the incident failed');
  });
});

describe('Function: assertIsError', () => {
  it('returns when the value is an Error', () => {
    // Prepare
    const value: unknown = new TypeError('bad');

    // Act
    assertIsError(value);

    // Assess
    expect(value.message).toBe('bad');
  });

  it('throws a PullmedicError naming the value when it is not an Error', () => {
    // Act
    const act = () => assertIsError({ toString: () => 'a plain object' });

    // Assess
    expect(act).toThrow(PullmedicError);
    expect(act).toThrow('non-error thrown: a plain object');
  });
});

describe('Function: messageOf', () => {
  it('reads an error and anything else thrown', () => {
    expect(messageOf(new Error('Rate exceeded'))).toBe('Rate exceeded');
    expect(messageOf('oops')).toBe('oops');
  });
});
