import { readFile } from 'node:fs/promises';
import { load } from 'js-yaml';

interface DocumentParameter {
  type?: string;
  default?: string;
  allowedPattern?: string;
}

interface CommandDocument {
  schemaVersion: string;
  parameters?: Record<string, DocumentParameter>;
  mainSteps: {
    action: string;
    name: string;
    inputs: { runCommand: string[] };
  }[];
}

/**
 * Renders the aws:runShellScript step of a Command document the way the
 * SSM agent does: every parameter takes the sent value or its default, is
 * checked against its allowedPattern (SSM refuses the command otherwise),
 * and replaces `{{ Name }}` in the script. What runs locally is then the
 * document's own script, byte for byte, with the node's values.
 *
 * @example
 * ```ts
 * const script = await renderRunShellScript('infra/ssm/prune-containerd.yml', { DryRun: ['true'] });
 * ```
 */
export async function renderRunShellScript(
  path: string,
  sent: Record<string, string[]>
): Promise<string> {
  const doc = load(await readFile(path, 'utf8')) as CommandDocument;
  const step = doc.mainSteps.find((s) => s.action === 'aws:runShellScript');
  if (!step) throw new Error(`${path} has no aws:runShellScript step`);
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(doc.parameters ?? {})) {
    const value = sent[name]?.[0] ?? spec.default;
    if (value === undefined)
      throw new Error(`parameter ${name} has no value and no default`);
    if (spec.allowedPattern && !new RegExp(spec.allowedPattern).test(value)) {
      throw new Error(
        `parameter ${name}=${JSON.stringify(value)} does not match ${spec.allowedPattern}`
      );
    }
    values[name] = value;
  }
  for (const name of Object.keys(sent)) {
    if (!(name in values))
      throw new Error(`the document has no parameter ${name}`);
  }
  return step.inputs.runCommand
    .join('\n')
    .replace(/\{\{\s*(\w+)\s*\}\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined)
        throw new Error(`the script uses an unknown parameter ${name}`);
      return value;
    });
}
