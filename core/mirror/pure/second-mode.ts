// What SECOND's `<rfs async>` and `<rfs sync_secondary>` mean for the two ends of the link,
// decided once here for the receiver, the sender and the data-path simulation's models of
// both (docs/mirror.md, "Durability contract" and "A sync call without a barrier").
import { acksUnasked, type LinkState } from './link';

export interface SecondMode {
  readonly async: 'none' | 'second';
  readonly sync_secondary: boolean;
}

/** An fsync op makes SECOND sync its disk (async="none" with sync_secondary); otherwise it
 *  only orders: its ACK means no more than a cumulative ACK of the ops before it. */
export function fsyncSyncsSecond(m: SecondMode): boolean {
  return m.async === 'none' && m.sync_secondary;
}

/** May a sync call wait for SECOND's unasked ACK of everything before it instead of shipping
 *  an fsync op? Where the op only orders and no write SECOND may acknowledge late is out
 *  (with async="second" every op is acknowledged on receipt). */
export function syncWaitsUnasked(m: SecondMode, ls: LinkState): boolean {
  return !fsyncSyncsSecond(m) && (m.async === 'second' || acksUnasked(ls));
}

/**
 * How a receiver that did not stop cleanly judges its copy on start. With async="second" ops
 * acknowledged on receipt and not yet applied died with the process; with async="none" only a
 * reboot loses anything (the page cache). What was lost PRIM's journal cannot know, so the
 * copy is not trusted (compared in full); when acknowledged writes may be among it
 * (async="second", or a reboot without sync_secondary) it is also not complete (it must not
 * take over) until then.
 */
export function restartedCopy<B>(rec: { readonly clean: boolean; readonly boot_id: B; readonly complete: boolean; readonly needs_full?: boolean }, boot_id: B, m: SecondMode): { trusted: boolean; complete: boolean } {
  const survived = rec.clean || (m.async === 'none' && rec.boot_id === boot_id);
  const ackedLost = !survived && (m.async === 'second' || !m.sync_secondary);
  return { trusted: survived && rec.needs_full !== true, complete: rec.complete && !ackedLost };
}
