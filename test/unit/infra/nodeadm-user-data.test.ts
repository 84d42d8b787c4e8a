import { readFile } from 'node:fs/promises';
import { load } from 'js-yaml';
import { describe, expect, it } from 'vitest';

const USER_DATA = new URL(
  '../../../infra/nodeadm/user-data.mime',
  import.meta.url
);

/** A MIME header block: `Name: value` lines up to the first blank line. */
const headersOf = (block: string) =>
  block.split('\n').map((line) => line.match(/^([A-Za-z-]+): (.+)$/));

describe('infra/nodeadm/user-data.mime', () => {
  it('is a MIME message from its first line, as nodeadm and EKS parse it', async () => {
    // Prepare
    const text = await readFile(USER_DATA, 'utf8');

    // Act
    const [head = '', ...body] = text.split('\n\n');
    const headers = headersOf(head);
    const boundary = head.match(/boundary="([^"]+)"/)?.[1];
    const parts = body
      .join('\n\n')
      .split(`--${boundary}`)
      .slice(1, -1)
      .map((part) => {
        const [partHead = '', ...content] = part
          .replace(/^\n/, '')
          .split('\n\n');
        return {
          type: partHead.match(/^Content-Type: ([^;\n]+)/)?.[1],
          content: content.join('\n\n'),
        };
      });

    // Assess
    expect(headers.every((h) => h !== null)).toBe(true);
    expect(headers[0]?.[0]).toBe('MIME-Version: 1.0');
    expect(
      text.endsWith(`--${boundary}--\n`) || text.endsWith(`--${boundary}--`)
    ).toBe(true);
    expect(parts.map((p) => p.type)).toEqual([
      'text/x-shellscript',
      'application/node.eks.aws',
    ]);
    expect(parts[0]?.content.startsWith('#!/bin/bash\n')).toBe(true);
    expect(load(parts[1]?.content ?? '')).toMatchObject({
      apiVersion: 'node.eks.aws/v1alpha1',
      kind: 'NodeConfig',
    });
  });
});
