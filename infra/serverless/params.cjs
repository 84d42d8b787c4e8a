// Stack params that must be given and checked before anything is packaged.
// serverless.yml's ${param:…} can only fall back to a default, and a
// missing one fails with "Value not found at "param" source", naming
// neither the param nor what to give: osls calls these functions instead
// (${file(./infra/serverless/params.cjs):nodeRoleArns}), and a missing or
// unsafe value stops `osls package` and `osls deploy` with a sentence that
// says what to do.
//
// CommonJS because osls loads ${file(…)} scripts with require().
'use strict';

const USAGE =
  'give it with --param="nodeRoleNamePattern=<names>" or under ' +
  'params.<stage> in serverless.yml';

// IAM role and instance profile names (and their paths), plus IAM's two
// wildcards. Nothing else may reach the ARN.
const NAME_CHARS = /^[A-Za-z0-9+=,.@_/*?-]{1,512}$/;
// A family of roles has a name of its own: at least three literal characters
// before the first wildcard, so "*", "?*" or "a*" (nearly every role in the
// account) are refused.
const LITERAL_PREFIX = /^[A-Za-z0-9+=,.@_-][A-Za-z0-9+=,.@_/-]{2}/;

/**
 * Splits a param given as a comma-separated string (`--param` values are
 * always strings) or a YAML list into its name patterns, and checks each.
 *
 * @example
 * ```js
 * namePatterns('nodeRoleNamePattern', 'eks-node-*, AmazonEKSNodeRole');
 * // ['eks-node-*', 'AmazonEKSNodeRole']
 * namePatterns('nodeRoleNamePattern', '*'); // throws: any role in the account
 * ```
 */
function namePatterns(param, value) {
  const items = (Array.isArray(value) ? value : String(value).split(','))
    .map((item) => String(item).trim())
    .filter((item) => item !== '');
  if (items.length === 0) {
    throw paramError(`${param} is empty: ${USAGE}`);
  }
  for (const item of items) {
    if (!NAME_CHARS.test(item)) {
      throw paramError(
        `${param} "${item}" is not an IAM name pattern: letters, digits, ` +
          '+=,.@_-/ and the wildcards * and ? only'
      );
    }
    if (!LITERAL_PREFIX.test(item)) {
      throw paramError(
        `${param} "${item}" could match roles of anyone in the account: ` +
          "start it with at least three characters of the node roles' " +
          'own names (e.g. "eks-node-*" or "AmazonEKSNodeRole")'
      );
    }
  }
  return items;
}

/**
 * CloudFormation ARNs of IAM resources of one type (`role`,
 * `instance-profile`) in the stack's partition and account, one per pattern.
 *
 * @example
 * ```js
 * iamArns('role', ['eks-node-*']);
 * // [{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/eks-node-*' }]
 * ```
 */
function iamArns(type, patterns) {
  return patterns.map((pattern) => ({
    'Fn::Sub': `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:${type}/${pattern}`,
  }));
}

/** An error osls prints as it is: its message, without a stack trace. */
function paramError(message) {
  const error = new Error(message);
  error.stack = message;
  return error;
}

/** The param's value, or undefined when no stage and no --param gives it. */
async function paramValue(resolveVariable, name) {
  try {
    return await resolveVariable(`param:${name}`);
  } catch (error) {
    // osls asks again once params can be read (its dependency order) ...
    if (error.code === 'MISSING_VARIABLE_DEPENDENCY') throw error;
    // ... and this is how it says that none is set.
    if (error.code === 'MISSING_VARIABLE_RESULT') return undefined;
    throw error;
  }
}

async function nodeRolePatterns(resolveVariable) {
  const value = await paramValue(resolveVariable, 'nodeRoleNamePattern');
  if (value === undefined || value === null) {
    throw paramError(
      'nodeRoleNamePattern is required: the names of the IAM roles of the ' +
        'nodes pullmedic may relaunch through an Auto Scaling instance ' +
        'refresh (iam:PassRole), e.g. "eks-node-*" or "AmazonEKSNodeRole"; ' +
        USAGE
    );
  }
  return namePatterns('nodeRoleNamePattern', value);
}

/**
 * `${file(./infra/serverless/params.cjs):nodeRoleArns}`: the node roles
 * roll-volume may pass to EC2 (param nodeRoleNamePattern, required).
 *
 * @example
 * ```yaml
 * Resource: ${file(./infra/serverless/params.cjs):nodeRoleArns}
 * ```
 */
async function nodeRoleArns({ resolveVariable }) {
  return iamArns('role', await nodeRolePatterns(resolveVariable));
}

/**
 * `${file(./infra/serverless/params.cjs):nodeInstanceProfileArns}`: the
 * instance profiles a relaunched node may carry (param
 * nodeInstanceProfileNamePattern; the role patterns when it is not given,
 * as where each profile is named after its role: the console, Terraform).
 *
 * @example
 * ```yaml
 * ec2:InstanceProfile: ${file(./infra/serverless/params.cjs):nodeInstanceProfileArns}
 * ```
 */
async function nodeInstanceProfileArns({ resolveVariable }) {
  const value = await paramValue(
    resolveVariable,
    'nodeInstanceProfileNamePattern'
  );
  const patterns =
    value === undefined || value === null || value === ''
      ? await nodeRolePatterns(resolveVariable)
      : namePatterns('nodeInstanceProfileNamePattern', value);
  return iamArns('instance-profile', patterns);
}

module.exports = {
  nodeRoleArns,
  nodeInstanceProfileArns,
  namePatterns,
  iamArns,
};
