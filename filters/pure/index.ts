// Pure half of the farm filter: config checks and nft script rendering. No I/O.
export type { FarmBalance, FarmFilterConfig, FarmGroup, FarmProtocol, FarmRule, PortInterval, PortSpec, ValidFarmFilter, ValidFarmGroup, ValidFarmRule } from './types';
export { validateFarmFilter, defaultVirtualMac, defaultHashSeed, parseIpv4, type ValidationResult } from './validate';
export { renderFilterScript, renderOwnedUpdate, renderRemoveScript, listOwnedArgs, checkOwnedBuckets, FILTER_FAMILIES, DEFAULT_BUCKET } from './render';
export { parseOwnedSet, ownedDifference } from './readback';
export * as limits from './limits';
