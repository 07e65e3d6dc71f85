// A farm module's 256 buckets, each cell coloured by the node whose filter owns it AND
// marked with that node's letter (colour is never the only signal); '·' no owner, '!' two
// owners. The live map comes from GET /modules/:module/buckets (each node's own report).
import { useEffect, useState } from 'preact/hooks';
import type { BucketMap } from '../../core/api/contract/pure/insight-types';
import type { ModuleOnNode } from '../../core/api/contract/pure/types';
import { bucketCell, mapIssues, ownerLegend } from '../pure/insight';
import { api, enc } from './api';

/** How often the map is read again while it is shown. */
const BUCKET_REFRESH_MS = 2_000;

export function BucketGrid(props: { owners: readonly string[]; label: string; known?: readonly string[] }) {
  const legend = ownerLegend(props.owners, props.known);
  const issues = mapIssues(props.owners);
  const summary = [...legend.map((k) => `${k.owner} (${k.letter}) ${k.count}`), ...(issues.none > 0 ? [`no owner ${issues.none}`] : []), ...(issues.overlap > 0 ? [`two owners ${issues.overlap}`] : [])].join(', ');
  return (
    <figure class="bucket-map">
      <ul class="owners" aria-label={`${props.label}: owners`}>
        {legend.map((k) => (
          <li key={k.owner}>
            <span class={`swatch o-${k.colour}${k.colour % 2 === 1 ? ' striped' : ''}`} aria-hidden="true">
              {k.letter}
            </span>{' '}
            {k.letter} = {k.owner}: {k.count} buckets
          </li>
        ))}
        {issues.none > 0 && (
          <li>
            <span class="swatch none" aria-hidden="true">
              ·
            </span>{' '}
            no owner: {issues.none}
          </li>
        )}
        {issues.overlap > 0 && (
          <li class="error">
            <span class="swatch overlap" aria-hidden="true">
              !
            </span>{' '}
            claimed twice: {issues.overlap}
          </li>
        )}
      </ul>
      <div class="buckets16" role="img" aria-label={`${props.label}, 256 buckets: ${summary}`}>
        {props.owners.map((o, i) => {
          const c = bucketCell(i, o, legend);
          return (
            <span key={i} class={c.cls} title={c.title} aria-hidden="true">
              {c.label}
            </span>
          );
        })}
      </div>
      <figcaption class="note">{props.label}: 16 × 16 cells, bucket 0 top left; hover a cell for its number and owner.</figcaption>
    </figure>
  );
}

/** The live map of one farm module (the module detail's "Farm buckets" tab); every node keeps its letter and colour even while it owns nothing. */
export function BucketMapView(props: { m: ModuleOnNode }) {
  const module = props.m.module;
  const [map, setMap] = useState<BucketMap | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    // One request at a time: with a node down, an answer waits for that node's timeout.
    let inFlight = false;
    const load = (): void => {
      if (inFlight) return;
      inFlight = true;
      api<BucketMap>('GET', `/modules/${enc(module)}/buckets`)
        .then(
          (m) => {
            if (!live) return;
            setMap(m);
            setError(null);
          },
          (e: unknown) => live && setError(e instanceof Error ? e.message : String(e)),
        )
        .finally(() => {
          inFlight = false;
        });
    };
    load();
    const t = setInterval(load, BUCKET_REFRESH_MS);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [module]);
  const f = props.m.farm;
  return (
    <div>
      {f && (
        <p>
          {props.m.node}'s share: {f.share} · filter {f.filter}
          {f.waiting_for.length > 0 && ` · waiting for ${f.waiting_for.join(', ')}`}
          {f.leaving && ' · leaving'}
        </p>
      )}
      {error && <p class="error">✖ {error}</p>}
      {map ? (
        <>
          <BucketGrid owners={map.owners} label={`Buckets of ${module} as the nodes' filters hold them`} known={map.nodes.map((n) => n.node)} />
          <p class="note">
            {map.nodes.map((n) => `${n.node}: ${n.owned === null ? (n.reachable ? 'no report' : 'unreachable') : `${n.owned.length} owned`}`).join(' · ')} (read {new Date(map.at).toLocaleTimeString()})
          </p>
        </>
      ) : (
        !error && <p>Loading the bucket map…</p>
      )}
    </div>
  );
}
