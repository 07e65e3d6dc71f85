// The ticket client of a geo cluster with several arbitrators (cluster.xml <arbitrator>,
// docs/geo.md): asks every arbitrator, answers the module machine once a majority granted (or
// once a majority can no longer grant), by the pure rule of core/witness/pure/quorum.ts. One
// WitnessPort per arbitrator does the wire work (UdpWitnessClient: signature, challenge, replay
// protection); this adapter only fans out and combines, so the machine sees one arbitrator.
import { HakitError } from '../errors/catalogue';
import type { WitnessAsk, WitnessGrant, WitnessPort } from '../module/runner/ports';
import { addAnswer, decide, newTally, type QuorumTally } from './pure/quorum';

export class QuorumWitnessClient implements WitnessPort {
  constructor(private readonly arbitrators: readonly WitnessPort[]) {
    if (arbitrators.length === 0) throw new HakitError('HAKIT_E_INTERNAL', 'a quorum needs at least one arbitrator', 'ticket client');
  }

  request(module: string, ask: WitnessAsk): Promise<WitnessGrant> {
    return new Promise<WitnessGrant>((resolve, reject) => {
      let tally: QuorumTally = newTally(this.arbitrators.length, ask.epoch);
      let done = false;
      const settle = (): void => {
        if (done) return;
        const d = decide(tally);
        if (d === null) return;
        done = true;
        if (d.kind === 'unanswered') reject(new HakitError('HAKIT_E_CONTROL_TIMEOUT', `no majority of the ${tally.n} arbitrators answered`, `tickets of module ${module}`));
        else resolve(d.grant);
      };
      this.arbitrators.forEach((a, i) => {
        a.request(module, ask).then(
          (g) => {
            tally = addAnswer(tally, i, g);
            settle();
          },
          () => {
            tally = addAnswer(tally, i, 'failed');
            settle();
          },
        );
      });
    });
  }

  release(module: string, up_to_request_id?: number): void {
    for (const a of this.arbitrators) a.release(module, up_to_request_id);
  }
}
