import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postmortemCommand } from '../../cli/commands/postmortem.ts';

const SEED = 'events/samples/seed-incident.jsonl';
const ID = 'gpu-inference_ip-10-0-1-149.ec2.internal_20261120T094059Z';
const POD = 'inference/triton-79569cfbbc-m2wcc';
const NODE = 'ip-10-0-1-149.ec2.internal';

/** Markdown as read: the renderer's backslash escapes removed. */
const plain = (md: string) => md.replace(/\\([\\`*_[\]|~$!#])/g, '$1');

/** The lines of one `## ` section. */
const section = (md: string, title: string): string[] => {
  const lines = md.split('\n');
  const start = lines.indexOf(`## ${title}`);
  const end = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  return lines.slice(start + 1, end === -1 ? undefined : end);
};

describe('Command: pullmedic postmortem --events (the seed incident, end to end)', () => {
  let dir: string;
  let code: number;
  let stdout = '';
  let md = '';
  let svg = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pullmedic-postmortem-'));
    code = await postmortemCommand(['--events', SEED, '--out', dir], {
      out: (t) => {
        stdout += t;
      },
      err: () => {},
    });
    md = plain(await readFile(join(dir, `postmortem-${ID}.md`), 'utf8'));
    svg = await readFile(join(dir, `postmortem-${ID}.svg`), 'utf8');
  });
  afterAll(async () => {
    // Kept when PULLMEDIC_KEEP_POSTMORTEM is set, to look at the picture.
    if (!process.env.PULLMEDIC_KEEP_POSTMORTEM)
      await rm(dir, { recursive: true, force: true });
  });

  it('writes the report and its picture, named after the incident, and says where', async () => {
    // Assess
    expect(code).toBe(0);
    expect((await readdir(dir)).sort()).toEqual([
      `postmortem-${ID}.md`,
      `postmortem-${ID}.svg`,
    ]);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(stdout).toContain(
      'Postmortem of gpu-inference/ip-10-0-1-149.ec2.internal/20261120T094059Z'
    );
    expect(stdout).toContain(join(dir, `postmortem-${ID}.md`));
    expect(stdout).toContain(join(dir, `postmortem-${ID}.svg`));
    expect(md).toContain(`![Timeline of incident`);
    expect(md).toContain(`](postmortem-${ID}.svg)`);
  });

  it('summarises the incident in the events own clock, with the time to recovery', () => {
    // Assess
    const summary = section(md, 'Summary').join('\n');
    expect(summary).toContain(`| Node | ${NODE} (i-`);
    expect(summary).toContain('| Cluster | gpu-inference |');
    expect(summary).toContain(`| Pod | ${POD} |`);
    expect(summary).toContain(
      '| Image | 478253497479.dkr.ecr.us-east-1.amazonaws.com/triton:resnet50 |'
    );
    expect(summary).toContain('| Class | disk_full |');
    expect(summary).toContain('| Evidence | "no space left on device" |');
    // The seed's Failed event happened at 09:40:59; the replay moved it to
    // now and the report moves it back.
    expect(summary).toContain('| Opened | 2026-11-20 09:40:59 UTC |');
    expect(summary).toMatch(
      /\| Resolved \| 2026-11-20 09:4\d:\d\d UTC \((Pulled|Started): /
    );
    expect(summary).toMatch(/\| Time to recovery \| \d+s \|/);
    expect(summary).toContain('| Dry run | no: pullmedic acted |');
    // The numbers are the simulated node's: every output says so.
    expect(summary).toContain(
      "| Replayed on | a simulated node: the disk figures and times are its, not the incident's |"
    );
    expect(stdout).toContain('replayed  on a simulated node');
    expect(svg).toContain('replayed on a simulated node: figures are its');
  });

  it('tells the timeline in order: classification, prune, roll 20 → 100 GiB, resolution', () => {
    // Assess
    const rows = section(md, 'Timeline').filter((l) => l.startsWith('| '));
    const find = (re: RegExp) => rows.findIndex((r) => re.test(r));
    const failed = find(
      /\| 09:40:59 \| kubernetes \| Kubernetes Warning Failed on pod inference\/triton-79569cfbbc-m2wcc: Failed to pull image .*no space left on device/
    );
    const classified = find(
      new RegExp(
        `\\| classified \\| Failed of pod ${POD} on ${NODE} classified disk_full, evidence "no space left on device" .*remedy: prune \\|`
      )
    );
    const opened = find(/\| incident \| incident opened: disk_full/);
    const pruneSent = find(/\| prune \| SSM SendCommand .* \(DryRun=false\)/);
    const pruned = find(
      /\| prune \| prune Success: used .* freed [\d.]+ GiB.*decision: roll:/
    );
    const rollStarted = find(
      /\| roll \| volume roll started: .*\/dev\/xvda 20 → 100 GiB; eks-nodegroup-update/
    );
    const rollDone = find(
      /\| roll \| eks-nodegroup-update .* ended Successful/
    );
    const restarted = find(
      /\| restart \| the cluster agent deleted inference\/triton-79569cfbbc-m2wcc; its ReplicaSet triton-79569cfbbc makes a new pod/
    );
    const pulled = find(
      /\| kubernetes \| Kubernetes Normal Pulled .*triton:resnet50/
    );
    const resolved = find(
      /\| resolved \| (?:Pulled|Started): .*incident resolved, time to recovery (\d+)s(?:; [^|]* Started \d+s after the restart of [^|]*)? \|/
    );
    const found = {
      failed,
      classified,
      opened,
      pruneSent,
      pruned,
      rollStarted,
      rollDone,
      restarted,
      pulled,
      resolved,
    };
    const missing = Object.entries(found).filter(([, i]) => i < 0);
    expect(missing).toEqual([]);
    const order = Object.values(found);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const ttr = /time to recovery (\d+s)/.exec(rows[resolved] ?? '')?.[1];
    expect(md).toContain(`| Time to recovery | ${ttr} |`);
  });

  it('gives each decision and its reason, and the disk before and after the prune', () => {
    // Assess
    const decisions = section(md, 'Decisions and why').join('\n');
    expect(decisions).toMatch(
      /\| Node Prune Completed \| roll the node group to a bigger volume \| the prune freed [\d.]+ GiB .*below the group minimum of 100 GiB \| no \|/
    );
    expect(decisions).toMatch(
      /\| Volume Roll Requested \| request a volume roll \(below-minimum\) \|/
    );
    expect(decisions).toMatch(
      /\| Volume Roll Started \| roll managed node group gpu: \/dev\/xvda 20 → 100 GiB \| .*undo: aws eks update-nodegroup-version/
    );
    expect(decisions).toMatch(/\| Volume Roll Completed \| roll completed \|/);
    const disk = section(md, 'Disk usage before and after the prune').join(
      '\n'
    );
    expect(disk).toMatch(
      /\| Before the prune \| [\d.]+ GiB \(\d+%\) \| [\d.]+ GiB \| 20\.0 GiB \|/
    );
    expect(disk).toMatch(
      /\| After the prune \| [\d.]+ GiB \(\d+%\) \| [\d.]+ GiB \| 20\.0 GiB \|/
    );
    expect(disk).toMatch(
      /Freed [\d.]+ GiB; \d+ images removed; pause image intact/
    );
    expect(disk).toContain('New nodes get /dev/xvda 100 GiB instead of 20 GiB');
  });

  it('draws a standalone SVG that renders to a picture with content', async () => {
    // Prepare
    expect(svg).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www.w3.org\/2000\/svg" version="1.1" width="1000" height="(\d+)" viewBox="0 0 1000 \1"/
    );
    expect(svg).toContain('roll started: /dev/xvda 20 → 100 GiB');
    expect(svg).toMatch(/time to recovery \d+s/);
    expect(svg).not.toMatch(/NaN|undefined|Infinity/);
    const height = Number(/height="(\d+)"/.exec(svg)?.[1]);

    // Act
    const rendered = new Resvg(svg, {
      fitTo: { mode: 'original' },
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    }).render();
    const png = rendered.asPng();
    await writeFile(join(dir, `postmortem-${ID}.png`), png);

    // Assess: a PNG of the SVG's size …
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(1000);
    expect(png.readUInt32BE(20)).toBe(height);
    expect(height).toBeGreaterThan(600);
    // … that is not blank: markers, bars, text cover part of it.
    const { pixels } = rendered;
    let ink = 0;
    for (let i = 0; i < pixels.length; i += 4) {
      const [r, g, b] = [pixels[i], pixels[i + 1], pixels[i + 2]] as number[];
      if ((r as number) < 240 || (g as number) < 240 || (b as number) < 240)
        ink++;
    }
    const share = ink / (rendered.width * rendered.height);
    expect(share).toBeGreaterThan(0.02);
    expect(share).toBeLessThan(0.6);
  });
});
