// Adapters of the farm filter: the FilterBackend port, the nft implementation and a fake.
export type { FilterApplyReport, FilterBackend } from './backend';
export { NftFilterBackend, TCP_LOOSE_SYSCTL, type NftBackendOptions } from './nft-backend';
export { FakeFilterBackend, type FakeCall } from './fake-backend';
export { spawnRunner, COMMAND_TIMEOUT_MS, type CommandRunner, type CommandResult } from './command';
