// The lab: hosts (network namespace + persistent mount namespace each) on one bridge per LAN
// in a switch namespace, with partitions, loss, delay and power cuts. Used by every lab test
// and by the `npm run lab` CLI. See docs/lab.md.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { HakitError } from '../../core/errors/catalogue';
import { LabError } from './errors';
import { addCut, cutsFor, renderFaults, setLoss } from './pure/faults';
import { findHost, hostAddr, hostIfname, hostMac, labKey, normaliseLabName, PREFIX_LEN, spareAddr } from './pure/plan';
import type { Cut, Delay, HostKind, HostPlan, LabPlan, LabState, Loss } from './pure/types';
import { makeDelayPorts, removeDelayPorts, routeThroughDelay, startDelayLine } from './delay';
import { makeLab, requireRoot } from './make';
import { joinArgv, netnsPath } from './namespaces';
import { powerCut, setLinks, type PowerCutReport } from './power';
import { ensureStagedTree } from './packaged';
import { nsInode, pidGone, pidsIn, processStartTicks, waitGone } from './procs';
import { mustRun, run, type RunResult } from './sh';
import { pinPath, readState, writeState } from './state-file';
import { teardown } from './teardown';

export type { PowerCutReport } from './power';
export type { RunResult } from './sh';

export interface LabOptions {
  /** Lab name; '' or undefined is the default lab (namespaces node1.., client, witness, sw). */
  name?: string;
  nodes: number;
  client?: boolean;
  witness?: boolean;
  lans?: number;
  /**
   * Packaged layout (docs/lab.md): every host sees the package's /usr/lib/hakit (staged from
   * the current build, reused while up to date) and its own /etc/default; hakitd and
   * hakit-witness are started from the package's unit files (test/lab/unit-start.ts).
   */
  packaged?: boolean;
}

export interface LabHost {
  name: string;
  kind: HostKind;
  netns: string;
  /** /run/netns/<netns>: pass to `nsenter --net=`. */
  netnsPath: string;
  /** Pinned mount namespace: pass to `nsenter --mount=`. */
  mountPin: string;
}

export interface LabStatus {
  name: string;
  index: number;
  hosts: Array<{ name: string; netns: string; addrs: string[] }>;
  lans: Array<{ index: number; subnet: string; bridge: string }>;
  cuts: Cut[];
  losses: Loss[];
  delays: Delay[];
  /** Hosts off after a power cut (lab.kill) until lab.powerOn. */
  poweredOff: string[];
  /** Packaged lab: the staged package tree its hosts use. */
  packagedRoot?: string;
}

/** How long a delay line gets to exit after SIGTERM before SIGKILL. */
const DELAY_STOP_WAIT_MS = 2_000;

export class Lab {
  private state: LabState;

  private constructor(state: LabState) {
    this.state = state;
  }

  /** Makes a lab; refuses (HAKIT_E_LAB_EXISTS, nothing changed) if it exists. */
  static async up(opts: LabOptions): Promise<Lab> {
    const spec = { name: normaliseLabName(opts.name), nodes: opts.nodes, client: opts.client ?? false, witness: opts.witness ?? false, lans: opts.lans ?? 1 };
    const packagedRoot = opts.packaged === true ? (await ensureStagedTree()).root : undefined;
    return new Lab(await makeLab(spec, packagedRoot));
  }

  /** The existing lab of that name, or undefined. */
  static open(name?: string): Lab | undefined {
    const state = readState(labKey(normaliseLabName(name)));
    return state === undefined ? undefined : new Lab(state);
  }

  /** Takes a lab down if it exists (for tests that may find a crashed run's lab); false if none. */
  static async destroy(name?: string): Promise<boolean> {
    requireRoot();
    return teardown(labKey(normaliseLabName(name)));
  }

  get name(): string {
    return this.state.plan.spec.name;
  }

  get plan(): LabPlan {
    return this.state.plan;
  }

  /** The staged package tree the hosts use (packaged labs), else undefined. */
  get packagedRoot(): string | undefined {
    return this.state.packagedRoot;
  }

  get prefixLen(): number {
    return PREFIX_LEN;
  }

  get lanCount(): number {
    return this.state.plan.lans.length;
  }

  get hosts(): LabHost[] {
    return this.state.plan.hosts.map((h) => ({ name: h.name, kind: h.kind, netns: h.netns, netnsPath: netnsPath(h.netns), mountPin: pinPath(this.state.plan.key, h.name) }));
  }

  /** The host's IPv4 address on a LAN. */
  addr(host: string, lan = 0): string {
    return hostAddr(this.state.plan, this.host(host), this.checkLan(lan));
  }

  /** An address of the LAN that no host has (n in 0..99), e.g. for a VIP. */
  spareAddr(lan: number, n: number): string {
    return spareAddr(this.state.plan, this.checkLan(lan), n);
  }

  mac(host: string, lan = 0): string {
    return hostMac(this.state.plan, this.host(host), this.checkLan(lan));
  }

  ifname(lan: number): string {
    return hostIfname(this.checkLan(lan));
  }

  /** argv prefix joining the host's network and mount view: `[...lab.joinArgv('node1'), 'cmd']`. */
  joinArgv(host: string, cwd?: string): string[] {
    return joinArgv(this.state.plan, this.host(host), cwd);
  }

  /** Runs a command in the host's view, bounded in time; resolves with code and output. */
  exec(host: string, argv: readonly string[], opts: { input?: string; timeout_ms?: number; cwd?: string } = {}): Promise<RunResult> {
    return run([...this.joinArgv(host, opts.cwd), ...argv], opts);
  }

  /** Starts a process in the host's view (a child of the caller; detach it yourself if needed). */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const cwd = typeof opts.cwd === 'string' ? opts.cwd : undefined;
    const [cmd, ...args] = this.joinArgv(host, cwd);
    return spawn(cmd as string, [...args, ...argv], { ...opts, cwd: undefined });
  }

  /** pids now running in the host (its network or mount namespace). */
  pids(host: string): number[] {
    const h = this.host(host);
    const net = nsInode(netnsPath(h.netns));
    const mnt = nsInode(pinPath(this.state.plan.key, h.name));
    return pidsIn({ net: new Set(net === undefined ? [] : [net]), mnt: new Set(mnt === undefined ? [] : [mnt]) }).filter((p) => !pidGone(p));
  }

  /**
   * Power cut: the host's links go dead first (its kernel answers nothing any more), then every
   * process dies at once; FUSE aborted; its processes' mounts undone. The host stays off (links
   * down) until powerOn. Kernel state (addresses, routes, nft tables) is kept, unlike a real
   * reboot: the daemon must clean up what it left (docs/lab.md).
   */
  async kill(host: string): Promise<PowerCutReport> {
    const h = this.host(host);
    this.reload();
    this.setPowered(host, false);
    await setLinks(this.state.plan, h, false);
    const report = await powerCut(this.state.plan, [h], this.state.baselineMounts);
    if (report.stillAlive.length > 0) {
      throw new LabError('HAKIT_E_LAB_KILL', `pids ${report.stillAlive.join(' ')} still run after the power cut`, `lab kill ${host}`);
    }
    return report;
  }

  /** Power on after a power cut: the host's links come back up (idempotent). Start its daemons after this. */
  async powerOn(host: string): Promise<void> {
    const h = this.host(host);
    this.reload();
    await setLinks(this.state.plan, h, true);
    this.setPowered(host, true);
  }

  /** True while the host is off (killed and not powered on again). */
  isOff(host: string): boolean {
    this.host(host);
    this.reload();
    return (this.state.poweredOff ?? []).includes(host);
  }

  /** Drops frames A->B (and B->A unless oneway) on one LAN or all. */
  async cut(a: string, b: string, opts: { lan?: number; oneway?: boolean } = {}): Promise<void> {
    this.reload();
    this.host(a);
    this.host(b);
    const lan = opts.lan === undefined ? undefined : this.checkLan(opts.lan);
    let cuts = [...this.state.cuts];
    for (const c of cutsFor(a, b, lan, opts.oneway ?? false)) cuts = addCut(cuts, c);
    await this.applyFaults({ ...this.state, cuts });
  }

  /** Removes every cut (loss and delay stay). */
  async heal(): Promise<void> {
    this.reload();
    await this.applyFaults({ ...this.state, cuts: [] });
  }

  /** Drops pct % (integer 0..100; 0 removes) of the host's egress frames. */
  async loss(host: string, pct: number, opts: { lan?: number } = {}): Promise<void> {
    this.reload();
    this.host(host);
    if (!Number.isInteger(pct) || pct < 0 || pct > 100) throw new HakitError('HAKIT_E_USAGE', `loss must be an integer 0..100, got ${pct}`, 'lab loss');
    const losses = setLoss(this.state.losses, host, this.lansOf(opts.lan), pct);
    await this.applyFaults({ ...this.state, losses });
  }

  /** Delays the host's egress by delay_ms (0 removes), like netem on the host's interfaces. */
  async delay(host: string, delay_ms: number, opts: { lan?: number } = {}): Promise<void> {
    this.reload();
    this.host(host);
    if (!Number.isInteger(delay_ms) || delay_ms < 0 || delay_ms > 60_000) throw new HakitError('HAKIT_E_USAGE', `delay must be an integer 0..60000 ms, got ${delay_ms}`, 'lab delay');
    for (const lan of this.lansOf(opts.lan)) await this.delayOne(host, lan, delay_ms);
  }

  status(): LabStatus {
    this.reload();
    const s = this.state;
    return {
      name: s.plan.key,
      index: s.plan.index,
      hosts: s.plan.hosts.map((h) => ({ name: h.name, netns: h.netns, addrs: s.plan.lans.map((l) => hostAddr(s.plan, h, l.index)) })),
      lans: s.plan.lans.map((l) => ({ index: l.index, subnet: `${l.network}/${l.prefixLen}`, bridge: l.bridge })),
      cuts: [...s.cuts],
      losses: [...s.losses],
      delays: [...s.delays],
      poweredOff: [...(s.poweredOff ?? [])],
      ...(s.packagedRoot === undefined ? {} : { packagedRoot: s.packagedRoot }),
    };
  }

  /**
   * Records a process started for this lab outside its hosts (in the machine's namespaces),
   * so that `down` stops it: that pid only, and only while it is the same process.
   */
  recordHostProcess(pid: number, what: string): void {
    this.reload();
    const startTicks = processStartTicks(pid);
    if (startTicks === undefined) return;
    const next = { ...this.state, hostProcesses: [...(this.state.hostProcesses ?? []), { pid, startTicks, what }] };
    writeState(next);
    this.state = next;
  }

  /** Removes everything the lab made. */
  async down(): Promise<void> {
    await teardown(this.state.plan.key);
  }

  // --- internals ---

  private reload(): void {
    const fresh = readState(this.state.plan.key);
    if (fresh === undefined) throw new LabError('HAKIT_E_LAB_NONE', `lab '${this.state.plan.key}' is not up`, 'lab');
    this.state = fresh;
  }

  /** Records the power state before the links change, so status and down always know it. */
  private setPowered(host: string, on: boolean): void {
    const others = (this.state.poweredOff ?? []).filter((h) => h !== host);
    const next = { ...this.state, poweredOff: on ? others : [...others, host] };
    writeState(next);
    this.state = next;
  }

  private host(name: string): HostPlan {
    const h = findHost(this.state.plan, name);
    if (h === undefined) {
      const known = this.state.plan.hosts.map((x) => x.name).join(', ');
      throw new LabError('HAKIT_E_LAB_UNKNOWN_HOST', `no host '${name}' in lab '${this.state.plan.key}' (hosts: ${known})`, 'lab');
    }
    return h;
  }

  private checkLan(lan: number): number {
    if (!Number.isInteger(lan) || lan < 0 || lan >= this.state.plan.lans.length) {
      throw new LabError('HAKIT_E_LAB_BAD_LAN', `LAN ${lan} does not exist (lab '${this.state.plan.key}' has LANs 0..${this.state.plan.lans.length - 1})`, 'lab');
    }
    return lan;
  }

  private lansOf(lan: number | undefined): number[] {
    return lan === undefined ? this.state.plan.lans.map((l) => l.index) : [this.checkLan(lan)];
  }

  /** Records the faults, then replaces the switch's nft table with exactly them. */
  private async applyFaults(next: LabState): Promise<void> {
    writeState(next);
    this.state = next;
    const script = renderFaults(next.plan, next.cuts, next.losses);
    await mustRun(['nsenter', `--net=${netnsPath(next.plan.switchNetns)}`, '--', 'nft', '-f', '-'], 'apply cuts and losses', { input: script });
  }

  private async stopDelayLine(pid: number): Promise<void> {
    const sw = nsInode(netnsPath(this.state.plan.switchNetns));
    // Only signal the pid if it still is a process of our switch (pids are reused).
    if (pid <= 0 || sw === undefined || !pidsIn({ net: new Set([sw]), mnt: new Set() }).includes(pid)) return;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    if ((await waitGone([pid], DELAY_STOP_WAIT_MS)).length > 0) process.kill(pid, 'SIGKILL');
  }

  private async delayOne(host: string, lan: number, delay_ms: number): Promise<void> {
    const current = this.state.delays.find((d) => d.host === host && d.lan === lan);
    const others = this.state.delays.filter((d) => d !== current);
    if (current !== undefined) await this.stopDelayLine(current.pid);
    if (delay_ms === 0) {
      if (current === undefined) return;
      await routeThroughDelay(this.state.plan, host, lan, false);
      await removeDelayPorts(this.state.plan, host, lan);
      writeState({ ...this.state, delays: others });
      this.state = { ...this.state, delays: others };
      return;
    }
    const pending: Delay = { host, lan, delay_ms, pid: 0 };
    writeState({ ...this.state, delays: [...others, pending] });
    if (current === undefined) await makeDelayPorts(this.state.plan, host, lan);
    const pid = await startDelayLine(this.state.plan, host, lan, delay_ms);
    const next = { ...this.state, delays: [...others, { ...pending, pid }] };
    writeState(next);
    this.state = next;
    if (current === undefined) await routeThroughDelay(this.state.plan, host, lan, true);
  }
}
