import type { Principal } from './permissions.ts'

/**
 * What a principal may do with a file or a job, by its owner. Owners do everything with their
 * own. Admins may read anyone's (support and moderation need to look), but change only their
 * own: an admin's leaked key or session can then look but not destroy item by item, and the
 * deliberate removal of someone's data stays one audited action (DELETE
 * /api/v1/admin/users/:id/data). Refusals are answered as if the object did not exist.
 */
export type OwnedAccess = 'read' | 'change'

export function mayAccessOwned (principal: Principal, ownerId: string, access: OwnedAccess): boolean {
  if (principal.userId === ownerId) return true
  return access === 'read' && principal.scopes.includes('admin')
}
