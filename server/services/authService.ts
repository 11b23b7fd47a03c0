// Sign-in rules: who may enter as a citizen (CPR claim, level of assurance) or as staff (role, biobank), and the
// person or staff record the session is bound to. Claim names come from configuration, not code.
import type { AuthConfig, LevelOfAssurance } from '../config.ts'
import { parseCpr } from '../domain/cpr.ts'
import { isCode, staffRoles, type StaffRole } from '../domain/vocabulary.ts'
import type { CprProtector } from '../domain/cprCrypto.ts'
import type { Database } from './database.ts'
import type { AuditService } from './auditService.ts'

export interface CitizenSessionUser {
  kind: 'citizen'
  donorId: number
  name: string
  loa: LevelOfAssurance
}

export interface StaffSessionUser {
  kind: 'staff'
  staffUserId: number
  name: string
  role: StaffRole
  biobankId: number | null
  biobankCode: string | null
}

export type SessionUser = CitizenSessionUser | StaffSessionUser

export type CitizenRefusal = 'loa' | 'cpr'
export type StaffRefusal = 'role' | 'biobank'

const LOA_ORDER: readonly LevelOfAssurance[] = ['Low', 'Substantial', 'High']

/** `https://data.gov.dk/concept/core/nsis/Substantial` (or a bare `Substantial`) to a level; anything else is none. */
export function parseLoa(value: unknown): LevelOfAssurance | undefined {
  if (typeof value !== 'string') return undefined
  const level = value.replace(/^https:\/\/data\.gov\.dk\/concept\/core\/nsis\//, '')
  return LOA_ORDER.find((l) => l === level)
}

const claimString = (claims: Record<string, unknown>, name: string) => (typeof claims[name] === 'string' ? (claims[name] as string) : undefined)

export function createAuthService(deps: { auth: AuthConfig; database: Database; cpr: CprProtector; audit: AuditService }) {
  const { auth, database, cpr, audit } = deps
  const { Donor, StaffUser, Biobank } = database.models

  return {
    async signInCitizen(claims: Record<string, unknown>, requestId?: string): Promise<{ user: CitizenSessionUser } | { reason: CitizenRefusal }> {
      const loa = parseLoa(claims[auth.citizen.loaClaim])
      if (!loa || LOA_ORDER.indexOf(loa) < LOA_ORDER.indexOf(auth.citizen.minLoa)) return { reason: 'loa' }
      const parsed = parseCpr(claimString(claims, auth.citizen.cprClaim) ?? '')
      if (!parsed.ok) return { reason: 'cpr' }
      const name = claimString(claims, 'name') ?? claimString(claims, 'mitid.identity_name') ?? ''

      const user = await database.sequelize.transaction(async (transaction) => {
        const hmac = cpr.hash(parsed.cpr)
        // Insert-or-find in one statement, so two first logins at once cannot both insert.
        await database.sequelize.query(
          `insert into donors (cpr_hmac, cpr_encrypted, birth_date) values (:hmac, :encrypted, :birthDate) on conflict (cpr_hmac) do nothing`,
          { replacements: { hmac, encrypted: cpr.encrypt(parsed.cpr), birthDate: parsed.birthDate.toISOString().slice(0, 10) }, transaction },
        )
        const donor = await Donor.findOne({ where: { cprHmac: hmac }, attributes: ['id'], transaction })
        await audit.record({ actor: { kind: 'citizen', donorId: donor!.id }, action: 'citizen.login', subjectDonorId: donor!.id, details: { loa }, requestId }, transaction)
        return { kind: 'citizen', donorId: donor!.id, name, loa } satisfies CitizenSessionUser
      })
      return { user }
    },

    async signInStaff(claims: Record<string, unknown>, issuer: string, requestId?: string): Promise<{ user: StaffSessionUser } | { reason: StaffRefusal }> {
      const role = claims[auth.staff.roleClaim]
      if (!isCode(staffRoles, role)) return { reason: 'role' }
      const biobankCode = claimString(claims, auth.staff.biobankClaim) ?? null
      const biobank = biobankCode ? await Biobank.findOne({ where: { code: biobankCode } }) : null
      // Registrars and admins act within exactly one known biobank; the auditor within none.
      if (role === 'auditor' ? biobankCode !== null : !biobank) return { reason: 'biobank' }
      const subject = claimString(claims, 'sub')!
      const name = claimString(claims, 'name') ?? subject

      const user = await database.sequelize.transaction(async (transaction) => {
        const [staff] = await StaffUser.upsert(
          { issuer, subject, name, role, biobankId: biobank?.id ?? null, lastLoginAt: new Date() },
          { conflictFields: ['issuer', 'subject'], transaction, returning: true },
        )
        await audit.record({ actor: { kind: 'staff', staffUserId: staff.id }, action: 'staff.login', details: { role, biobank: biobankCode }, requestId }, transaction)
        return { kind: 'staff', staffUserId: staff.id, name, role, biobankId: biobank?.id ?? null, biobankCode: biobank?.code ?? null } satisfies StaffSessionUser
      })
      return { user }
    },

    async recordLogout(user: SessionUser, requestId?: string): Promise<void> {
      await audit.record(
        user.kind === 'citizen'
          ? { actor: { kind: 'citizen', donorId: user.donorId }, action: 'citizen.logout', subjectDonorId: user.donorId, requestId }
          : { actor: { kind: 'staff', staffUserId: user.staffUserId }, action: 'staff.logout', requestId },
      )
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
