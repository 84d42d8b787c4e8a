import { describe, expect, it } from 'vitest';
import { renderRunShellScript } from '../../../cli/local/ssm-document.ts';

const DOCUMENT = new URL(
  '../../../infra/ssm/prune-containerd.yml',
  import.meta.url
).pathname;

describe('Function: renderRunShellScript', () => {
  it('fills the parameters the way the SSM agent does, defaults included', async () => {
    // Act
    const script = await renderRunShellScript(DOCUMENT, { DryRun: ['true'] });

    // Assess
    expect(script).toContain("export DRY_RUN='true'");
    expect(script).toContain(
      "export CONTAINERD_ADDRESS='/run/containerd/containerd.sock'"
    );
    expect(script).not.toMatch(/\{\{/);
  });

  it('refuses a value its allowedPattern does not allow, as SSM does', async () => {
    // Act
    const rendering = renderRunShellScript(DOCUMENT, {
      DryRun: ["false'; reboot; echo '"],
    });

    // Assess
    await expect(rendering).rejects.toThrow(
      /parameter DryRun=.* does not match \^\(true\|false\)\$/
    );
  });

  it('refuses a parameter the document does not declare', async () => {
    // Act
    const rendering = renderRunShellScript(DOCUMENT, { Commands: ['id'] });

    // Assess
    await expect(rendering).rejects.toThrow(
      'the document has no parameter Commands'
    );
  });
});
