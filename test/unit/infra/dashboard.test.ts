import { readdir, readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readCloudFormationYaml } from '../../helpers/cloudformation.ts';

const repo = new URL('../../../', import.meta.url);

/** Every metric name the functions emit through Powertools (addMetric). */
async function emittedMetricNames(): Promise<Set<string>> {
  const names = new Set<string>();
  for (const dir of ['functions', 'functions/_shared']) {
    for (const file of await readdir(new URL(dir, repo))) {
      if (!file.endsWith('.ts')) continue;
      const text = await readFile(new URL(`${dir}/${file}`, repo), 'utf8');
      for (const m of text.matchAll(/addMetric\(\s*'(\w+)'/g))
        names.add(m[1] as string);
      // The handler names a dead letter's metric with its reason.
      for (const m of text.matchAll(/metric: '(\w+)'/g))
        names.add(m[1] as string);
      // recordDecisions names the rest of the decisions after their
      // detail-types (Volume Roll Started → VolumeRollStarted).
      for (const m of text.matchAll(/\? '(\w+)' : '(\w+)'/g)) {
        names.add(m[1] as string);
        names.add(m[2] as string);
      }
    }
  }
  const { DETAIL_TYPES } = await import('../../../events/detail-types.ts');
  for (const type of Object.values(DETAIL_TYPES))
    names.add(type.replace(/\s+/g, ''));
  return names;
}

describe('infra/serverless/dashboard.yml', () => {
  it('is valid JSON, and reads only metrics the functions emit', async () => {
    // Prepare
    const stack = (await readCloudFormationYaml(
      'infra/serverless/dashboard.yml'
    )) as {
      Resources: {
        Dashboard: { Properties: { DashboardBody: { Sub: string } } };
      };
    };
    // CloudFormation's and osls's substitutions, the only ${…} in the body.
    const body = stack.Resources.Dashboard.Properties.DashboardBody.Sub.replace(
      /\$\{(AWS::Region|sls:stage)\}/g,
      (_, name: string) => (name === 'AWS::Region' ? 'us-east-1' : 'test')
    );

    // Act
    const dashboard = JSON.parse(body) as {
      widgets: { properties: { metrics?: unknown[][]; query?: string } }[];
    };
    let namespace = '';
    const read = dashboard.widgets.flatMap((w) =>
      (w.properties.metrics ?? []).flatMap((row) => {
        if (typeof row[0] === 'object' && row[0] !== null) return []; // an expression
        if (row[0] !== '.') namespace = String(row[0]);
        return namespace === 'pullmedic' && row[1] !== '.'
          ? [String(row[1])]
          : [];
      })
    );
    const emitted = await emittedMetricNames();

    // Assess
    expect(read.length).toBeGreaterThan(5);
    expect(read.filter((name) => !emitted.has(name))).toEqual([]);
    expect(read).toContain('DryRunDecisions');
  });
});
