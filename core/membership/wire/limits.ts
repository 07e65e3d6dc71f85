// Named bounds of the heartbeat wire format (docs/architecture.md, rule 8).

/** Largest heartbeat datagram we send or accept; well under the 64 KiB UDP limit. */
export const MAX_PACKET_BYTES = 16_384;
/** A node id is a short name from cluster.xml; longer ids are refused on the wire. */
export const MAX_NODE_ID_BYTES = 64;
/** The cluster key must carry at least this much entropy. */
export const MIN_KEY_BYTES = 16;
/** Bytes of the HMAC-SHA256 tag that ends every packet. */
export const MAC_BYTES = 32;
/** The oldest heartbeat wire version this code reads and writes (2: the first with challenges). */
export const WIRE_VERSION_MIN = 2;
/** The newest: 3 carries the sender's version range in the envelope (version negotiation). */
export const WIRE_VERSION_MAX = 3;
/**
 * The version an encoder writes when the caller names none: the oldest this code speaks, which
 * every peer that speaks anything in common reads. The heartbeat transport negotiates per
 * peer (wire/pure/negotiate.ts); the witness exchange writes this one.
 */
export const WIRE_VERSION = WIRE_VERSION_MIN;
/** Every heartbeat starts with these bytes ("HKHB"). */
export const WIRE_MAGIC = Buffer.from('HKHB', 'ascii');
/** Distinct (sender, LAN) pairs whose replay windows we keep; more are dropped. */
export const MAX_TRACKED_SENDERS = 1024;
/** Highest LAN index a packet may name (one byte on the wire). */
export const MAX_LAN_INDEX = 255;
/** Bytes of the per-life random challenge each packet carries (and of the echo of the peer's). */
export const CHALLENGE_BYTES = 16;
