// Renders the lab's faults (cuts, losses) into one nftables transaction for the switch
// namespace. The whole table is replaced at once, so the kernel holds exactly what the state
// file says (effects say the desired result, docs/architecture.md, rule 1).
import { delayPorts, switchPort } from './plan';
import type { Cut, LabPlan, Loss } from './types';

export const NFT_TABLE = 'hakit_lab';

/**
 * The bridge ports that may carry a host's frames on a LAN: its veth peer, or the delay line's
 * bridge port while a delay line sits in between. Matching both means rules never change (and
 * never lapse) when a delay line is inserted or removed; the absent one simply never matches.
 */
export function bridgePortsOf(host: string, lan: number): string {
  return `{ "${switchPort(host, lan)}", "${delayPorts(host, lan).bridgePort}" }`;
}

function lansOf(plan: LabPlan, lan: number | undefined): number[] {
  return lan === undefined ? plan.lans.map((l) => l.index) : [lan];
}

function cutRules(plan: LabPlan, cuts: readonly Cut[]): string[] {
  const rules: string[] = [];
  for (const cut of cuts) {
    for (const lan of lansOf(plan, cut.lan)) {
      rules.push(`iifname ${bridgePortsOf(cut.from, lan)} oifname ${bridgePortsOf(cut.to, lan)} drop`);
    }
  }
  return rules;
}

function lossRules(losses: readonly Loss[]): string[] {
  return losses.map((l) => `iifname ${bridgePortsOf(l.host, l.lan)} numgen random mod 100 < ${l.pct} drop`);
}

/** nft script that replaces the table; with no faults it only removes the table. */
export function renderFaults(plan: LabPlan, cuts: readonly Cut[], losses: readonly Loss[]): string {
  const rules = [...cutRules(plan, cuts), ...lossRules(losses)];
  const lines = [`table bridge ${NFT_TABLE}`, `delete table bridge ${NFT_TABLE}`];
  if (rules.length > 0) {
    lines.push(`table bridge ${NFT_TABLE} {`);
    lines.push('  chain forward {');
    lines.push('    type filter hook forward priority 0; policy accept;');
    for (const r of rules) lines.push(`    ${r}`);
    lines.push('  }');
    lines.push('}');
  }
  return lines.join('\n') + '\n';
}

/** Adds a cut unless an identical one exists (cuts are a set). */
export function addCut(cuts: readonly Cut[], cut: Cut): Cut[] {
  const same = (c: Cut): boolean => c.from === cut.from && c.to === cut.to && c.lan === cut.lan;
  return cuts.some(same) ? [...cuts] : [...cuts, cut];
}

/** Cuts for `cut A B`: A->B, and B->A unless one-way. */
export function cutsFor(a: string, b: string, lan: number | undefined, oneway: boolean): Cut[] {
  const there: Cut = { from: a, to: b, lan };
  return oneway ? [there] : [there, { from: b, to: a, lan }];
}

/** Sets (pct > 0) or clears (pct 0) a host's loss on the given LANs. */
export function setLoss(losses: readonly Loss[], host: string, lans: readonly number[], pct: number): Loss[] {
  const kept = losses.filter((l) => !(l.host === host && lans.includes(l.lan)));
  return pct > 0 ? [...kept, ...lans.map((lan) => ({ host, lan, pct }))] : kept;
}
