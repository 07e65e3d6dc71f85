// up/down against real namespaces: nothing is left behind, a second up changes nothing,
// the root namespace never gets a lab link, and up/down times are measured.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Lab } from './index';
import { isLabError } from './errors';
import { leaksOf, waitFor } from './testkit';

const NAME = 'tlu';
const rootLinks = (): string => execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
/** Rounds for the up/down timing (the report quotes the median). */
const TIMING_ROUNDS = 5;

afterAll(async () => {
  await Lab.destroy(NAME);
});

describe('lab up/down', () => {
  beforeAll(async () => {
    await Lab.destroy(NAME);
  });

  it('makes namespaces, pins and mounts only for itself and removes them all', async () => {
    expect(leaksOf(NAME, rootLinks())).toEqual({ netns: [], mounts: [], rootLinks: [] });
    const lab = await Lab.up({ name: NAME, nodes: 2, client: true, witness: true, lans: 2 });
    const during = leaksOf(NAME, rootLinks());
    expect(during.netns.sort()).toEqual(['tlu-client', 'tlu-node1', 'tlu-node2', 'tlu-sw', 'tlu-witness']);
    expect(during.rootLinks).toEqual([]);
    expect(during.mounts.length).toBeGreaterThanOrEqual(5);
    const sleeper = lab.spawn('node1', ['sleep', '300']);
    expect(await waitFor(() => lab.pids('node1').length > 0, 5000)).toBe(true);
    const pids = lab.pids('node1');
    await lab.down();
    expect(leaksOf(NAME, rootLinks())).toEqual({ netns: [], mounts: [], rootLinks: [] });
    for (const pid of pids) expect(fs.existsSync(`/proc/${pid}/ns/net`)).toBe(false);
    expect(fs.existsSync(`/run/hakit-lab/${NAME}`)).toBe(false);
    expect(fs.existsSync(`/var/lib/hakit-lab/${NAME}`)).toBe(false);
    sleeper.kill();
  });

  it('refuses a second up with a clear error and changes nothing', async () => {
    const lab = await Lab.up({ name: NAME, nodes: 1 });
    const state = fs.readFileSync(`/run/hakit-lab/${NAME}/state.json`, 'utf8');
    const netns = leaksOf(NAME, rootLinks()).netns.sort();
    const err = await Lab.up({ name: NAME, nodes: 3, witness: true }).catch((e: unknown) => e);
    expect(isLabError(err) && err.code).toBe('HAKIT_E_LAB_EXISTS');
    expect(String(err)).toMatch(/already; nothing changed/);
    expect(fs.readFileSync(`/run/hakit-lab/${NAME}/state.json`, 'utf8')).toBe(state);
    expect(leaksOf(NAME, rootLinks()).netns.sort()).toEqual(netns);
    expect((await lab.exec('node1', ['true'])).code).toBe(0);
    await lab.down();
  });

  it('down of a lab that is not up says so', async () => {
    expect(await Lab.destroy(NAME)).toBe(false);
  });

  it('cleans up after a crash in the middle of up (state recorded, half made)', async () => {
    const lab = await Lab.up({ name: NAME, nodes: 2 });
    // Simulate a crash: phase still 'making', and one namespace never made.
    const file = `/run/hakit-lab/${NAME}/state.json`;
    const state = JSON.parse(fs.readFileSync(file, 'utf8'));
    fs.writeFileSync(file, JSON.stringify({ ...state, phase: 'making', netns: [...state.netns, 'tlu-never'] }));
    expect(await Lab.destroy(NAME)).toBe(true);
    expect(leaksOf(NAME, rootLinks())).toEqual({ netns: [], mounts: [], rootLinks: [] });
    void lab;
  });

  it('runs two labs side by side on disjoint subnets; taking one down leaves the other whole', async () => {
    await Lab.destroy(`${NAME}2`);
    const a = await Lab.up({ name: NAME, nodes: 1, lans: 1 });
    const b = await Lab.up({ name: `${NAME}2`, nodes: 1, lans: 1 });
    try {
      expect(a.addr('node1', 0)).not.toBe(b.addr('node1', 0));
      expect((await a.exec('node1', ['ping', '-c', '1', '-W', '1', b.addr('node1', 0)])).code).not.toBe(0);
      expect((await b.exec('node1', ['sh', '-c', 'echo b > /srv/f'])).code).toBe(0);
      await a.down();
      expect((await b.exec('node1', ['cat', '/srv/f'])).stdout).toBe('b\n');
      expect((await b.exec('node1', ['sh', '-c', 'grep -c " /etc/hakit " /proc/self/mounts'])).stdout.trim()).toBe('1');
    } finally {
      await Lab.destroy(NAME);
      await b.down();
    }
    expect(leaksOf(`${NAME}2`, rootLinks())).toEqual({ netns: [], mounts: [], rootLinks: [] });
  });

  it(`measures up and down of 3 nodes + client + witness (median of ${TIMING_ROUNDS})`, async () => {
    const up_ms: number[] = [];
    const down_ms: number[] = [];
    for (let i = 0; i < TIMING_ROUNDS; i++) {
      let t = Date.now();
      const lab = await Lab.up({ name: NAME, nodes: 3, client: true, witness: true, lans: 1 });
      up_ms.push(Date.now() - t);
      t = Date.now();
      await lab.down();
      down_ms.push(Date.now() - t);
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
    console.log(`lab up: median ${median(up_ms)} ms (${up_ms.join(', ')}); down: median ${median(down_ms)} ms (${down_ms.join(', ')})`);
    expect(median(up_ms)).toBeLessThan(10_000);
    expect(leaksOf(NAME, rootLinks())).toEqual({ netns: [], mounts: [], rootLinks: [] });
  });
});
