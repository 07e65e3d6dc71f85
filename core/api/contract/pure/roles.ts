// Users' roles, as SafeKit's: admin does everything, control runs module commands, monitor
// only reads. Each role includes the ones below it.
export const ROLES = ['monitor', 'control', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who may call a route: a role, anyone (login, the OpenAPI document), or only peer nodes. */
export type Access = Role | 'public' | 'node';

const RANK: Readonly<Record<Role, number>> = { monitor: 0, control: 1, admin: 2 };

export function isRole(x: unknown): x is Role {
  return typeof x === 'string' && (ROLES as readonly string[]).includes(x);
}

/** True when a caller holding `held` may use a route that needs `needed`. */
export function roleAllows(held: Role, needed: Access): boolean {
  if (needed === 'public') return true;
  if (needed === 'node') return false;
  return RANK[held] >= RANK[needed];
}
