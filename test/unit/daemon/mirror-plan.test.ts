// The engine spec a mirror module's <rfs> options become (core/daemon/mirror-plan.ts): every
// option the reference documents as acting reaches the engine.
import { planMirror } from '../../../core/daemon/mirror-plan';
import { LINK_DEFAULTS } from '../../../core/mirror/pure/link';
import { SENDER_DEFAULTS } from '../../../core/mirror/sender';
import { cluster, mirrorXml, okConfig } from '../config/fixtures';

const plan = (rfs: string) => planMirror('app', okConfig(mirrorXml(rfs)), cluster(), 'node1', '/var/lib/hakit');

test('acktimeout and blocksize reach the engine spec', () => {
  const p = plan('<rfs acktimeout="12s" blocksize="128K"><replicated dir="/srv/app/data"/></rfs>');
  expect(p?.spec).toMatchObject({ ack_timeout_ms: 12_000, block_size_bytes: 128 * 1024, dirs: ['/srv/app/data'] });
});

test('their defaults are the engine\'s own: a 5 s ack timeout, 64 KiB blocks', () => {
  expect(plan('<rfs><replicated dir="/srv/app/data"/></rfs>')?.spec).toMatchObject({ ack_timeout_ms: LINK_DEFAULTS.ack_timeout_ms, block_size_bytes: SENDER_DEFAULTS.block_size_bytes });
});
