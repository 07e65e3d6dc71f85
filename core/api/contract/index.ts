// The API contract: the only hakit code the web console imports. No node modules here.
// pure/ holds the parts the server's pure decisions use too (roles, schemas, data types).
export * from './version';
export * from './pure/roles';
export * from './pure/types';
export * from './pure/config-types';
export * from './pure/config-macros';
export * from './pure/insight-types';
export * from './pure/schema';
export * from './routes';
export * from './events';
export * from './openapi';
