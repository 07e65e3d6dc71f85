// Read-only views of the config types: what builders return and the rest of hakit receives.
import type { ClusterConfig, UserConfig } from './types';
import type { DeepReadonly } from './xml-tree';

export type { ClusterConfig, ClusterLan, ClusterNode, UserConfig } from './types';
export type DeepReadonlyClusterConfig = DeepReadonly<ClusterConfig>;
export type DeepReadonlyUserConfig = DeepReadonly<UserConfig>;
