/**
 * Who a token acts as. viewer, operator and admin are ranked, each able to do what the one before it can;
 * an agent token is outside that ranking: it acts for one registered agent, on that agent's own routes only.
 */
export const ROLES = ["viewer", "operator", "admin", "agent"] as const;
export type Role = (typeof ROLES)[number];

export const RANKED_ROLES = ["viewer", "operator", "admin"] as const;
export type RankedRole = (typeof RANKED_ROLES)[number];

/** Whether a token of `role` holds `needed` (agent tokens hold no ranked role). */
export function holdsRole(role: Role, needed: RankedRole): boolean {
  if (role === "agent") return false;
  return RANKED_ROLES.indexOf(role) >= RANKED_ROLES.indexOf(needed);
}
