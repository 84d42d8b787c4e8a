// The Terraform snippets, read with HashiCorp's own HCL parser (hcl2json,
// compiled to WebAssembly). `terraform validate` is not used: it needs the
// AWS provider, which only the Terraform registry serves.
import { readFile } from 'node:fs/promises';
import { parse } from '@cdktf/hcl2json';
import { load } from 'js-yaml';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = new URL('../../../', import.meta.url);
const text = (path: string) => readFile(new URL(path, repo), 'utf8');

type Block = Record<string, unknown>;
interface Hcl {
  resource?: Record<string, Record<string, Block[]>>;
  data?: Record<string, Record<string, Block[]>>;
  variable?: Record<string, Block[]>;
  locals?: Block[];
}

/** Terraform's interpolation of `expression`, as hcl2json prints it. */
const tf$ = (expression: string) => `\${${expression}}`;

const hcl = async (path: string) =>
  (await parse(path, await text(path))) as Hcl;

/** A variable's default, by the `${var.name}` expression that reads it. */
const defaultOf = (tf: Hcl, expression: unknown) => {
  const name = /^\$\{var\.(\w+)\}$/.exec(String(expression))?.[1];
  const variable = tf.variable?.[name ?? '']?.[0];
  if (!variable) throw new Error(`${String(expression)} is no variable`);
  return variable.default;
};

/** The parameters an SSM document of infra/ssm declares. */
const documentParameters = async (file: string) =>
  Object.keys(
    (load(await text(`infra/ssm/${file}`)) as { parameters: Block }).parameters
  );

describe('infra/terraform/scheduled-prune.tf', () => {
  let tf: Hcl;
  let associations: Record<string, Block[]>;
  beforeAll(async () => {
    tf = await hcl('infra/terraform/scheduled-prune.tf');
    associations = tf.resource?.aws_ssm_association ?? {};
  });

  const targetsOf = (association: Block) =>
    Object.fromEntries(
      (association.targets as { key: string; values: string[] }[]).map((t) => [
        t.key,
        t.values,
      ])
    );

  it('has one association per AMI family, each with its own document', async () => {
    // Prepare
    const [containerd] = associations.prune_containerd ?? [];
    const [bottlerocket] = associations.prune_bottlerocket ?? [];

    // Assess: exactly these two, with the documents serverless.yml deploys.
    expect(Object.keys(associations).sort()).toEqual([
      'prune_bottlerocket',
      'prune_containerd',
    ]);
    expect(defaultOf(tf, containerd?.name)).toMatch(/-prune-containerd$/);
    expect(defaultOf(tf, bottlerocket?.name)).toMatch(/-prune-bottlerocket$/);
    // Each passes only parameters its own document declares.
    expect(await documentParameters('prune-containerd.yml')).toEqual(
      expect.arrayContaining(Object.keys(containerd?.parameters as Block))
    );
    expect(await documentParameters('prune-bottlerocket.yml')).toEqual(
      expect.arrayContaining(Object.keys(bottlerocket?.parameters as Block))
    );
  });

  it("targets only its own family's nodes of the cluster", () => {
    // Prepare
    const [containerd] = associations.prune_containerd ?? [];
    const [bottlerocket] = associations.prune_bottlerocket ?? [];
    const familyKey = `tag:${tf$('var.ami_family_tag_key')}`;
    const clusterKey = `tag:${tf$('var.cluster_tag_key')}`;

    // Act
    const containerdTargets = targetsOf(containerd as Block);
    const bottlerocketTargets = targetsOf(bottlerocket as Block);

    // Assess: both keys on each (SSM requires every key to match), the
    // family values apart.
    expect(containerdTargets).toEqual({
      [clusterKey]: [tf$('var.cluster_name')],
      [familyKey]: ['al2023', 'al2'],
    });
    expect(bottlerocketTargets).toEqual({
      [clusterKey]: [tf$('var.cluster_name')],
      [familyKey]: ['bottlerocket'],
    });
    expect(tf.variable?.ami_family_tag_key?.[0]?.default).toBe(
      'pullmedic.io/ami-family'
    );
  });

  it('prunes only on the cron schedule unless asked to prune at creation', () => {
    // Assess
    for (const [name, [association]] of Object.entries(associations)) {
      expect(association?.apply_only_at_cron_interval, name).toBe(
        tf$('!var.prune_at_creation')
      );
      expect(association?.schedule_expression, name).toBe(
        tf$('var.schedule_expression')
      );
      // SSM refuses apply_only_at_cron_interval with a rate expression.
      expect(JSON.stringify(association?.lifecycle), name).toContain(
        'var.prune_at_creation || startswith(var.schedule_expression, \\"cron(\\")'
      );
    }
    expect(tf.variable?.prune_at_creation?.[0]?.default).toBe(false);
    expect(String(tf.variable?.schedule_expression?.[0]?.default)).toMatch(
      /^cron\(/
    );
  });
});

describe('infra/k8s/aws/forwarder-role.tf', () => {
  let tf: Hcl;
  beforeAll(async () => {
    tf = await hcl('infra/k8s/aws/forwarder-role.tf');
  });

  /**
   * local.oidc_host for an OIDC provider ARN in `partition`: Terraform's
   * replace() with the file's own pattern, the partition data source read
   * as `partition`.
   */
  const oidcHost = (arn: string, partition: string) => {
    const expression = String(tf.locals?.[0]?.oidc_host);
    const m =
      /replace\(\s*var\.oidc_provider_arn,\s*"\/(.*)\/",\s*""\s*,?\s*\)\}$/s.exec(
        expression
      );
    if (!m) throw new Error(`oidc_host is not a replace(): ${expression}`);
    const pattern = (m[1] as string)
      .replace(/\\\\/g, '\\')
      .replace(tf$('data.aws_partition.current.partition'), partition);
    return arn.replace(new RegExp(pattern), '');
  };

  it('reads the partition from the aws_partition data source', () => {
    // Assess
    expect(tf.data?.aws_partition?.current).toBeDefined();
    expect(JSON.stringify(tf)).not.toContain('arn:aws:');
  });

  it.each([
    ['aws', 'oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B7'],
    ['aws-cn', 'oidc.eks.cn-north-1.amazonaws.com.cn/id/EXAMPLED539D4633E'],
    ['aws-us-gov', 'oidc.eks.us-gov-west-1.amazonaws.com/id/EXAMPLED539D46'],
  ])(
    'finds the OIDC host of a provider in the %s partition',
    (partition, host) => {
      // Prepare
      const arn = `arn:${partition}:iam::123456789012:oidc-provider/${host}`;

      // Act
      const found = oidcHost(arn, partition);

      // Assess
      expect(found).toBe(host);
    }
  );
});
