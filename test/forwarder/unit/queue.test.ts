import { describe, expect, it } from 'vitest';
import type { Priority } from '../../../forwarder/event.ts';
import { Progress } from '../../../forwarder/progress.ts';
import { BoundedQueue } from '../../../forwarder/queue.ts';

const item = (key: string, priority: Priority, weight = 1, count = 1) => ({
  key,
  priority,
  weight,
  count,
});

describe('Class: BoundedQueue', () => {
  describe('Method: push', () => {
    it('replaces a queued event with its newer count in place', () => {
      // Prepare
      const queue = new BoundedQueue<ReturnType<typeof item>>(10);
      queue.push(item('a', 2));
      queue.push(item('b', 2));

      // Act
      const outcome = queue.push(item('a', 2, 1, 5));

      // Assess
      expect(outcome.kind).toBe('coalesced');
      expect(outcome.replaced?.count).toBe(1);
      expect(queue.size).toBe(2);
      expect(queue.shift()).toEqual(item('a', 2, 1, 5));
    });

    it('sheds the oldest of the least useful class when full', () => {
      // Prepare
      const queue = new BoundedQueue<ReturnType<typeof item>>(3);
      queue.push(item('pulled-1', 0));
      queue.push(item('warning-1', 1));
      queue.push(item('pulled-2', 0));

      // Act
      const outcome = queue.push(item('failed-1', 2));

      // Assess
      expect(outcome.shed.map((s) => s.key)).toEqual(['pulled-1']);
      expect(queue.size).toBe(3);
      expect(
        [queue.shift(), queue.shift(), queue.shift()].map((i) => i?.key)
      ).toEqual(['failed-1', 'warning-1', 'pulled-2']);
    });

    it('sheds the pushed event when everything queued matters more', () => {
      // Prepare
      const queue = new BoundedQueue<ReturnType<typeof item>>(2);
      queue.push(item('failed-1', 2));
      queue.push(item('failed-2', 2));

      // Act
      const outcome = queue.push(item('pulled-1', 0));

      // Assess
      expect(outcome.shed.map((s) => s.key)).toEqual(['pulled-1']);
      expect(queue.size).toBe(2);
    });

    it('sheds by weight as well as by count', () => {
      // Prepare
      const queue = new BoundedQueue<ReturnType<typeof item>>(100, 1000);
      queue.push(item('a', 1, 400));
      queue.push(item('b', 1, 400));

      // Act
      const outcome = queue.push(item('c', 2, 400));

      // Assess
      expect(outcome.shed.map((s) => s.key)).toEqual(['a']);
      expect(queue.weight).toBe(800);
    });
  });
});

describe('Class: Progress', () => {
  describe('Method: settle', () => {
    it('commits a resourceVersion only once everything before it settled', () => {
      // Prepare
      const progress = new Progress('100');
      const a = progress.track('101');
      const b = progress.track('102');

      // Act
      progress.settle(b);
      const whileAPending = progress.committed;
      progress.settle(a);

      // Assess
      expect(whileAPending).toBe('100');
      expect(progress.committed).toBe('102');
      expect(progress.inFlight).toBe(0);
    });
  });
});
