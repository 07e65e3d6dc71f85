// "What happens if node X fails / LAN Y is cut / the application fails on X / checker C
// fails": the cluster's current state runs on in the what-if world (world.ts: the daemon's own
// pure machines, checkers' verdicts and failover rules on a simulated clock), first unchanged
// for a moment (to check it is steady), then with the faults at their times, until quiet or
// the horizon. The prediction is what the machines did: per module each node's end state, the
// timeline, VIP and bucket moves, the failover rules applied, and warnings read from the
// start and the end.
import { BUCKET_COUNT, bucketOwners, type BucketTable } from '../../../filters/buckets';
import type { NodeId } from '../../membership/pure/types';
import { lastFaultMs, monitorQuietMs } from './horizon';
import { ruleOutcomes, ruleWarnings } from './rules-outcome';
import type { BucketMove, FarmOutcome, ModulePrediction, NodeOutcome, TimelineEntry, WhatIfCluster, WhatIfModuleNow, WhatIfPrediction, WhatIfScenario, WhatIfWarning } from './types';
import { WhatIfWorld } from './world';

/** The cluster runs unchanged this long before the fault: views settle, renewals go round. */
function warmupMs(c: WhatIfCluster): number {
  return c.profile.timeout_ms + 4 * c.profile.period_ms;
}

const nowOf = (x: WhatIfModuleNow['nodes'][number]): string => (!x.reachable ? 'DOWN' : x.announcement === null ? 'UNKNOWN' : `${x.announcement.state}/${x.announcement.status}`);
const serves = (s: string): boolean => s.startsWith('ALONE/') || s.startsWith('PRIM/');

export function predict(c: WhatIfCluster, s: WhatIfScenario): WhatIfPrediction {
  const warm = warmupMs(c);
  const world = new WhatIfWorld(c, s, warm);
  // Farm member lists before the fault, as each node's machine computed them.
  world.runUntil(warm - 1);
  const stateName = (s: string): string => s.split('/')[0] ?? s;
  const steady = c.modules.map((m) => m.nodes.filter((x) => stateName(nowOf(x)) !== stateName(world.stateOf(x.node, m.policy.module))).map((x) => `${m.policy.module} on ${x.node}: ${nowOf(x)} → ${world.stateOf(x.node, m.policy.module)}`));
  const farmBefore = new Map(c.modules.map((m) => [m.policy.module, farmTable(m, (n) => world.farmMembersOf(n, m.policy.module))]));
  const vipBefore = new Map(c.modules.map((m) => [m.policy.module, world.vipHolders(m.policy.module)]));
  world.scheduleFaults(warm);
  const settled = runUntilQuiet(world, c, s, warm);

  const warnings: WhatIfWarning[] = [];
  const notSteady = steady.flat();
  if (notSteady.length > 0) warnings.push({ kind: 'not-steady', module: null, message: `the cluster is changing on its own already (${notSteady.join('; ')}): the prediction starts from where it goes` });
  if (world.record.runaway) warnings.push({ kind: 'not-settled', module: null, message: 'the simulation stopped at its event budget: the prediction is incomplete' });
  else if (!settled) warnings.push({ kind: 'not-settled', module: null, message: `the cluster was still changing at the horizon (${s.horizon_ms} ms after the last fault): ask again with a longer horizon_ms` });
  const modules = c.modules.map((m) => predictModule(c, s, m, world, farmBefore.get(m.policy.module) ?? null, vipBefore.get(m.policy.module) ?? []));
  const timeline: TimelineEntry[] = [...world.record.timeline].sort((a, b) => a.at_ms - b.at_ms);
  return { scenario: s, taken_by: c.taken_by, modules, timeline, warnings, assumptions: assumptions(c, s) };
}

/** Simulated time advanced per round while looking for quiet. */
const ROUND_MS = 1_000;

/**
 * Long enough without any event of the timeline that nothing more can come from the fault:
 * a lease running out, a takeover's scripts and a re-integration, with room to spare.
 */
function quietMs(c: WhatIfCluster, s: WhatIfScenario): number {
  const lease_ms = Math.max(0, ...c.modules.map((m) => (m.policy.hasWitness ? m.policy.witness_lease_ms : 0)));
  return 2 * (c.profile.timeout_ms + c.profile.period_ms) + lease_ms + 4 * s.script_ms + s.sync_ms + monitorQuietMs(c, s) + 2 * ROUND_MS;
}

/** Runs to the horizon (after the last fault), or stops earlier once the timeline has been quiet for quietMs after it; true when quiet. */
function runUntilQuiet(world: WhatIfWorld, c: WhatIfCluster, s: WhatIfScenario, fault_ms: number): boolean {
  const last_fault = lastFaultMs(s);
  const end = fault_ms + last_fault + s.horizon_ms;
  const quiet = quietMs(c, s);
  for (let t = fault_ms; t < end && !world.record.runaway; ) {
    t = Math.min(end, t + ROUND_MS);
    world.runUntil(t);
    const last = Math.max(last_fault, world.record.timeline[world.record.timeline.length - 1]?.at_ms ?? 0);
    if (t - fault_ms - last >= quiet) return true;
  }
  return false;
}

function assumptions(c: WhatIfCluster, s: WhatIfScenario): string[] {
  const out = [
    `every script takes ${s.script_ms} ms and succeeds; a re-integration takes ${s.sync_ms} ms`,
    `heartbeats every ${c.profile.period_ms} ms, a peer is lost after ${c.profile.timeout_ms} ms of silence on every LAN (profile ${c.profile.name})`,
    s.heal === 'restart' ? 'an application or checker fault ends when the module\'s application is started again on that node (heal=restart)' : 'an application or checker fault lasts to the horizon: every restart fails again (heal=never)',
    'a failing check reports at once (ping and custom checkers: at their timeout); checkers not named by the question stay up, except module checkers (they follow the other module on the node) and the split-brain checker (the witness)',
    'messages on a working LAN arrive at once; replication follows the heartbeat LANs',
    `the state is the one ${c.taken_by} knows now (its own modules, and what its peers last announced)`,
  ];
  if (c.modules.some((m) => m.policy.hasWitness)) out.push(s.witness_cut_from.length === 0 ? 'every node still reaches the witness' : `${s.witness_cut_from.join(', ')} lose the witness; the others still reach it`);
  return out;
}

function predictModule(c: WhatIfCluster, s: WhatIfScenario, m: WhatIfModuleNow, world: WhatIfWorld, farmBefore: BucketTable | null, vip_before: NodeId[]): ModulePrediction {
  const name = m.policy.module;
  const nodes: NodeOutcome[] = m.nodes.map((x) => ({ node: x.node, before: nowOf(x), after: world.stateOf(x.node, name), failed: s.fail_nodes.includes(x.node) }));
  const changes = world.record.timeline.filter((t) => t.module === name && (t.kind === 'state' || t.kind === 'buckets' || t.kind === 'vip' || t.kind === 'script'));
  const farm = m.policy.mode === 'farm' ? farmOutcome(m, world, farmBefore) : null;
  return {
    module: name,
    mode: m.policy.mode,
    nodes,
    vip_before,
    vip_after: world.vipHolders(name),
    farm,
    settled_ms: changes.length === 0 ? null : Math.max(...changes.map((t) => t.at_ms)),
    warnings: [...moduleWarnings(c, s, m, nodes), ...ruleWarnings(s, m, nodes, world.record)],
    rules: ruleOutcomes(s, m, world.record),
  };
}

/** The bucket table of the member list the live UP nodes apply (they agree once settled). */
function farmTable(m: WhatIfModuleNow, membersOf: (node: NodeId) => readonly NodeId[] | null): BucketTable | null {
  const powers = m.powers ?? {};
  for (const x of m.nodes) {
    const members = membersOf(x.node);
    if (members === null || !members.includes(x.node)) continue;
    try {
      return bucketOwners(members.map((id) => ({ id, power: powers[id] ?? 1 })));
    } catch {
      return null;
    }
  }
  return null;
}

function farmOutcome(m: WhatIfModuleNow, world: WhatIfWorld, before: BucketTable | null): FarmOutcome {
  const after = farmTable(m, (n) => world.farmMembersOf(n, m.policy.module));
  const b = before ?? new Array<string>(BUCKET_COUNT).fill('');
  const a = after ?? new Array<string>(BUCKET_COUNT).fill('');
  const count = new Map<string, number>();
  for (let i = 0; i < BUCKET_COUNT; i++) {
    const from = b[i] ?? '';
    const to = a[i] ?? '';
    if (from === to) continue;
    const k = `${from}\u0000${to}`;
    count.set(k, (count.get(k) ?? 0) + 1);
  }
  const moves: BucketMove[] = [...count.entries()].map(([k, n]) => {
    const [from, to] = k.split('\u0000') as [string, string];
    return { from, to, count: n };
  });
  const shares = world.record.timeline.filter((t) => t.module === m.policy.module && t.kind === 'buckets');
  return { before: [...b], after: [...a], moves, moved_at_ms: shares.length === 0 ? null : Math.max(...shares.map((t) => t.at_ms)) };
}

function moduleWarnings(c: WhatIfCluster, s: WhatIfScenario, m: WhatIfModuleNow, nodes: readonly NodeOutcome[]): WhatIfWarning[] {
  const name = m.policy.module;
  const out: WhatIfWarning[] = [];
  const w = (kind: WhatIfWarning['kind'], message: string): void => void out.push({ kind, module: name, message });
  for (const x of m.nodes) if (!x.reachable) w('already-down', `${x.node} does not answer now: the prediction counts it as down from the start`);
  if (m.policy.mode === 'mirror') {
    const prim = m.nodes.find((x) => x.announcement !== null && (x.announcement.state === 'PRIM' || x.announcement.state === 'ALONE'));
    const second = m.nodes.find((x) => x.announcement?.state === 'SECOND');
    const primLost = prim !== undefined && s.fail_nodes.includes(prim.node);
    // The serving node stops serving without failing: its failover rules stopped it.
    const primStopped = prim !== undefined && !primLost && !serves(nodes.find((n) => n.node === prim.node)?.after ?? '');
    if (primLost || primStopped) {
      const failover = second?.failover ?? m.policy.failover;
      if (primLost) {
        const upToDate = second !== undefined && second.announcement?.status === 'Ready' && second.announcement.copyComplete && !s.fail_nodes.includes(second.node);
        if (!upToDate) w('no-up-to-date-second', `module ${name} has no SECOND up to date: failover refused, data-loss risk (only a forced start on a stale copy would serve it)`);
        if (upToDate && !failover) w('failover-off', `failover is off on ${second?.node}: it will not take over; an operator must run prim`);
      } else if (!nodes.some((n) => serves(n.after))) {
        // What the machines did decides (a SECOND re-integrating now may be in sync by then).
        const at = nodes.find((n) => n.node === prim.node)?.after ?? '';
        if (!failover) w('failover-off', `failover is off on this module: it stays ${at} on ${prim.node} and ${second?.node ?? 'no node'} does not take over; an operator must run prim`);
        else w('no-up-to-date-second', `no SECOND in sync: ${second?.node ?? 'no node'} does not take over when ${prim.node} stops (${at}); forcing it (prim --force) would lose data`);
      }
    }
    const before = nodes.filter((n) => serves(n.before)).length;
    const after = nodes.filter((n) => serves(n.after)).length;
    if (before > 0 && after === 0) w('not-served', `module ${name} is served nowhere at the end`);
    if (after > 1) w('split-brain', `module ${name} is served on ${nodes.filter((n) => serves(n.after)).map((n) => n.node).join(' and ')} at once: split brain, writes on both sides diverge`);
    if (!m.policy.hasWitness && s.cut_lans.length > 0 && m.policy.nodes.length > 1 && isolated(c, s, m)) w('no-witness', `module ${name} has no witness: with every shared LAN cut, each side decides alone`);
    if (m.nodes.length < 2) w('no-peer', `module ${name} runs on one node only: nothing can take over`);
  } else {
    const up = nodes.filter((n) => n.after.startsWith('UP/')).length;
    if (nodes.some((n) => n.before.startsWith('UP/')) && up === 0) w('not-served', `farm module ${name} runs nowhere at the end`);
  }
  for (const n of nodes) if (!n.failed && n.after.endsWith('/Transient')) w('not-settled', `${n.node} is still in transition at the horizon (${n.after})`);
  return out;
}

/** The module's nodes share no LAN the scenario leaves working. */
function isolated(c: WhatIfCluster, s: WhatIfScenario, m: WhatIfModuleNow): boolean {
  const lansOf = (node: NodeId): readonly number[] => c.nodes.find((n) => n.node === node)?.lans ?? [];
  const [a, b] = m.policy.nodes;
  if (a === undefined || b === undefined) return false;
  return !lansOf(a).some((l) => lansOf(b).includes(l) && !s.cut_lans.includes(l));
}
