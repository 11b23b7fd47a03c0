// API keys for integrations that ask for eligibility checks (POST /api/v1/eligibility). A biobank admin issues a
// named key for their own biobank, sees it once, and can revoke it; the key acts on the admin's behalf, scoped to
// that biobank (its checks are audited with the issuing admin as actor and the key's id in the details).
//
// The key is `bbr_` and 32 random bytes (base64url). Only its SHA-256 is stored: a password needs a slow hash
// because people choose guessable ones, but a 256-bit random key cannot be guessed, so one SHA-256 is as safe as
// any key-derivation function and lets the key be found by a unique index in one lookup. A stolen database gives
// no usable key; revoking a key takes effect on its next request.
import crypto from 'node:crypto'
import { QueryTypes } from 'sequelize'
import { z } from 'zod'
import type { ServiceDeps } from './serviceDeps.ts'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay } from './authorization.ts'
import { CONTROL_CHARACTERS } from './eligibilityService.ts'

export const API_KEY_PREFIX = 'bbr_'
const KEY_PATTERN = /^bbr_[A-Za-z0-9_-]{43}$/
/** How much of a key is kept to tell keys apart on the admin's page (the prefix and 8 random characters). */
const SHOWN_LENGTH = API_KEY_PREFIX.length + 8

export const apiClientNameSchema = z.string().trim().min(1).max(100).refine((value) => !CONTROL_CHARACTERS.test(value))

/** An authenticated integration. */
export interface ApiClient {
  id: number
  name: string
  biobankId: number
  biobankCode: string
  /** The admin who issued the key, who is the actor of its audit events. */
  issuedByStaffId: number
}

export interface ApiClientListing {
  id: number
  name: string
  keyPrefix: string
  createdAt: Date
  createdByName: string
  lastUsedAt: Date | null
  revokedAt: Date | null
}

export const hashApiKey = (key: string): Buffer => crypto.createHash('sha256').update(key, 'utf8').digest()

export function createApiClientService(deps: ServiceDeps) {
  const { database, audit } = deps
  const { sequelize } = database

  const select = <T extends object>(sql: string, replacements: Record<string, unknown>) => sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

  function ownBiobank(user: StaffSessionUser): number {
    return assertStaffMay(user, 'release', user.biobankId ?? -1).biobankId!
  }

  return {
    /** Issues a named key for the admin's biobank. The key is returned this once and never stored. */
    async issue(user: StaffSessionUser, name: string, requestId?: string): Promise<{ client: ApiClientListing; key: string }> {
      const biobankId = ownBiobank(user)
      const cleanName = apiClientNameSchema.parse(name)
      const key = `${API_KEY_PREFIX}${crypto.randomBytes(32).toString('base64url')}`
      return sequelize.transaction(async (transaction) => {
        const [row] = await sequelize.query<{ id: number }>(
          `insert into api_clients (biobank_id, name, key_hash, key_prefix, created_by_staff_id)
           values (:biobankId, :name, :hash, :prefix, :staffUserId) returning id`,
          { replacements: { biobankId, name: cleanName, hash: hashApiKey(key), prefix: key.slice(0, SHOWN_LENGTH), staffUserId: user.staffUserId }, type: QueryTypes.SELECT, transaction },
        )
        await audit.record({ actor: { kind: 'staff', staffUserId: user.staffUserId }, action: 'apiclient.issue', details: { apiClientId: Number(row!.id), name: cleanName }, requestId }, transaction)
        const client: ApiClientListing = {
          id: Number(row!.id),
          name: cleanName,
          keyPrefix: key.slice(0, SHOWN_LENGTH),
          createdAt: new Date(),
          createdByName: user.name,
          lastUsedAt: null,
          revokedAt: null,
        }
        return { client, key }
      })
    },

    /** The keys of the admin's biobank, newest first, revoked ones included. */
    async list(user: StaffSessionUser): Promise<ApiClientListing[]> {
      const biobankId = ownBiobank(user)
      const rows = await select<{ id: number; name: string; key_prefix: string; created_at: Date; created_by_name: string; last_used_at: Date | null; revoked_at: Date | null }>(
        `select c.id, c.name, c.key_prefix, c.created_at, u.name as created_by_name, c.last_used_at, c.revoked_at
           from api_clients c join staff_users u on u.id = c.created_by_staff_id
          where c.biobank_id = :biobankId order by c.created_at desc, c.id desc`,
        { biobankId },
      )
      return rows.map((r) => ({ id: Number(r.id), name: r.name, keyPrefix: r.key_prefix, createdAt: r.created_at, createdByName: r.created_by_name, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }))
    },

    /** Revokes a key of the admin's biobank; false when there is no such key there (or it was revoked already). */
    async revoke(user: StaffSessionUser, clientId: number, requestId?: string): Promise<boolean> {
      const biobankId = ownBiobank(user)
      if (!Number.isSafeInteger(clientId) || clientId < 1) return false
      return sequelize.transaction(async (transaction) => {
        const rows = await sequelize.query<{ id: number }>(
          `update api_clients set revoked_at = now(), revoked_by_staff_id = :staffUserId
            where id = :clientId and biobank_id = :biobankId and revoked_at is null returning id`,
          { replacements: { staffUserId: user.staffUserId, clientId, biobankId }, type: QueryTypes.SELECT, transaction },
        )
        if (rows.length === 0) return false
        await audit.record({ actor: { kind: 'staff', staffUserId: user.staffUserId }, action: 'apiclient.revoke', details: { apiClientId: clientId }, requestId }, transaction)
        return true
      })
    },

    /** The integration holding `key`, or null for a malformed, unknown or revoked key. */
    async authenticate(key: string): Promise<ApiClient | null> {
      if (!KEY_PATTERN.test(key)) return null
      const [row] = await select<{ id: number; name: string; biobank_id: number; code: string; created_by_staff_id: number }>(
        `select c.id, c.name, c.biobank_id, b.code, c.created_by_staff_id
           from api_clients c join biobanks b on b.id = c.biobank_id
          where c.key_hash = :hash and c.revoked_at is null`,
        { hash: hashApiKey(key) },
      )
      if (!row) return null
      // When it was last used, at most once a minute, so a busy integration does not write on every request.
      await sequelize.query(`update api_clients set last_used_at = now() where id = :id and (last_used_at is null or last_used_at < now() - interval '1 minute')`, {
        replacements: { id: row.id },
      })
      return { id: Number(row.id), name: row.name, biobankId: row.biobank_id, biobankCode: row.code, issuedByStaffId: Number(row.created_by_staff_id) }
    },
  }
}

export type ApiClientService = ReturnType<typeof createApiClientService>
