// Who may do what, decided in the service layer (routes only hide links). Every staff service calls these
// before it reads or changes a biobank's data, so a forged request meets the same rules as a click.
import type { SessionUser, StaffSessionUser } from './authService.ts'
import type { StaffRole } from '../domain/vocabulary.ts'

export class ForbiddenError extends Error {
  readonly status = 403
}

/** `paper_optout`: register a citizen's opt-out from a paper form (the register is national; the admin's own biobank is the scope). */
export type StaffAction = 'read' | 'register' | 'release' | 'export' | 'audit' | 'paper_optout'

/** What each role may do, within its own biobank (registrar, admin) or across all of them (auditor). */
const permissions: Record<StaffRole, readonly StaffAction[]> = {
  registrar: ['read', 'register'],
  biobank_admin: ['read', 'register', 'release', 'export', 'paper_optout'],
  auditor: ['read', 'audit'],
}

export function staffMay(user: StaffSessionUser, action: StaffAction, biobankId: number): boolean {
  if (!permissions[user.role].includes(action)) return false
  // The auditor reads every biobank; everyone else acts only within their own.
  return user.role === 'auditor' || user.biobankId === biobankId
}

/** Throws ForbiddenError unless `user` is staff allowed to do `action` on the biobank. */
export function assertStaffMay(user: SessionUser | undefined, action: StaffAction, biobankId: number): StaffSessionUser {
  if (user?.kind !== 'staff') throw new ForbiddenError('staff only')
  if (!staffMay(user, action, biobankId)) throw new ForbiddenError(`${user.role} may not ${action} in biobank ${biobankId}`)
  return user
}

/** Throws ForbiddenError unless `user` is the citizen `donorId` (acting for a child is checked by the custody rules). */
export function assertCitizenIs(user: SessionUser | undefined, donorId: number): void {
  if (user?.kind !== 'citizen' || user.donorId !== donorId) throw new ForbiddenError('not this citizen')
}
