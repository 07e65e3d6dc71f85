// The API's version. A breaking change of any route, body or event bumps API_VERSION and the
// base path; additive changes (a new optional field, a new route) do not.
export const API_VERSION = 1;
export const API_BASE = '/api/v1';
/** socket.io's path: under the API base, so one reverse-proxy rule covers both. */
export const EVENTS_PATH = '/api/v1/socket.io';
/** Default HTTPS port of hakitd's API (SafeKit's console uses 9453 too). */
export const DEFAULT_API_PORT = 9453;
