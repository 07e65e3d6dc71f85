// The one bounded wait of the system tests: poll a condition until it holds or the time bound
// ends, bounded in polls too (project rule: every wait and loop is bounded in count and time).
// Returns the milliseconds it took, so tests can report how fast something happened.

/** Hard cap on polls, whatever the time bound. */
const MAX_POLLS = 10_000;

/**
 * @param detail extra text for the failure message (a state dump, logs), asked only on failure
 * @param poll_ms poll period
 */
export async function until(what: string, cond: () => boolean | Promise<boolean>, max_ms: number, detail?: () => string | Promise<string>, poll_ms = 100): Promise<number> {
  const t0 = Date.now();
  for (let i = 0; i < MAX_POLLS; i++) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > max_ms) break;
    await new Promise((r) => setTimeout(r, poll_ms));
  }
  const more = detail ? await detail() : '';
  throw new Error(`not reached within ${max_ms} ms: ${what}${more ? `\n${more}` : ''}`);
}
