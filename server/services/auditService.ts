// Every access to person data is an audit event, written in the same transaction as the action it records.
import { QueryTypes, type Transaction } from 'sequelize'
import { z } from 'zod'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay } from './authorization.ts'
import type { Database } from './database.ts'

export type AuditActor =
  | { kind: 'citizen'; donorId: number }
  | { kind: 'staff'; staffUserId: number }
  | { kind: 'system' }

export interface AuditEntry {
  actor: AuditActor
  action: string
  subjectDonorId?: number | null
  sampleId?: number | null
  details?: Record<string, unknown>
  requestId?: string | null
}

export function createAuditService(database: Database) {
  return {
    async record(entry: AuditEntry, transaction?: Transaction): Promise<void> {
      // A plain INSERT (no RETURNING, no model instance): this runs on every page view and every change.
      await database.sequelize.query(
        `insert into audit_events (actor_kind, actor_donor_id, actor_staff_id, action, subject_donor_id, sample_id, details, request_id)
         values (:actorKind, :actorDonorId, :actorStaffId, :action, :subjectDonorId, :sampleId, :details, :requestId)`,
        {
          replacements: {
            actorKind: entry.actor.kind,
            actorDonorId: entry.actor.kind === 'citizen' ? entry.actor.donorId : null,
            actorStaffId: entry.actor.kind === 'staff' ? entry.actor.staffUserId : null,
            action: entry.action,
            subjectDonorId: entry.subjectDonorId ?? null,
            sampleId: entry.sampleId ?? null,
            details: JSON.stringify(entry.details ?? {}),
            requestId: entry.requestId ?? null,
          },
          transaction,
        },
      )
    },
  }
}

export type AuditService = ReturnType<typeof createAuditService>

// The auditor's view of the trail: search by action, actor kind, period and sample label, newest first,
// paged by a keyset cursor so a deep page costs the same as the first.

export const auditCriteriaSchema = z.object({
  action: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[a-z][a-z0-9_.]{0,63}$/).optional()),
  actorKind: z.preprocess((v) => (v === '' ? undefined : v), z.enum(['citizen', 'staff', 'api_client', 'system']).optional()),
  from: z.preprocess((v) => (v === '' ? undefined : v), z.iso.date().optional()),
  to: z.preprocess((v) => (v === '' ? undefined : v), z.iso.date().optional()),
  sampleLabel: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional()),
})
export type AuditCriteria = z.infer<typeof auditCriteriaSchema>

export interface AuditRow {
  id: number
  occurredAt: Date
  actorKind: string
  actorName: string | null
  actorRole: string | null
  actorBiobank: string | null
  action: string
  subjectDonorId: number | null
  sampleLabel: string | null
  details: Record<string, unknown>
  chain: number
  chainSeq: number
  hash: string
}

export const AUDIT_PAGE_SIZE = 50

// The instant to the microsecond, as PostgreSQL keeps it: a millisecond cursor would skip events that share the
// millisecond of a page's last event.
const encodeCursor = (row: { cursorAt: string; id: number }) => Buffer.from(JSON.stringify([row.cursorAt, row.id])).toString('base64url')
function decodeCursor(cursor: string | undefined): [string, number] | undefined {
  if (!cursor) return undefined
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [unknown, unknown]
    // Only what encodeCursor writes: a real UTC instant with microseconds and a positive id (else a damaged link).
    if (
      typeof at === 'string' &&
      /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/.test(at) &&
      !at.startsWith('0000') &&
      !Number.isNaN(Date.parse(`${at.slice(0, 23)}Z`)) &&
      new Date(`${at.slice(0, 23)}Z`).toISOString().slice(0, 19) === at.slice(0, 19) &&
      Number.isSafeInteger(id) &&
      (id as number) > 0
    )
      return [at, id as number]
  } catch {
    // A damaged cursor starts from the first page.
  }
  return undefined
}

export function createAuditSearch(database: Database, audit: ReturnType<typeof createAuditService>) {
  return {
    async search(user: StaffSessionUser, criteria: AuditCriteria, cursor?: string, requestId?: string): Promise<{ rows: AuditRow[]; nextCursor: string | null }> {
      // Only the auditor reads the whole trail ('audit' is the auditor's alone, across every biobank).
      assertStaffMay(user, 'audit', user.biobankId ?? 0)
      const after = decodeCursor(cursor)
      const where: string[] = []
      const replacements: Record<string, unknown> = { limit: AUDIT_PAGE_SIZE + 1 }
      if (criteria.action) {
        // starts_with, not LIKE: "_" in an action name is a character, not a wildcard.
        where.push(`(a.action = :action or starts_with(a.action, :actionPrefix))`)
        Object.assign(replacements, { action: criteria.action, actionPrefix: `${criteria.action}.` })
      }
      if (criteria.actorKind) {
        where.push('a.actor_kind = :actorKind')
        replacements.actorKind = criteria.actorKind
      }
      if (criteria.from) {
        where.push(`a.occurred_at >= (:from::date::timestamp at time zone 'Europe/Copenhagen')`)
        replacements.from = criteria.from
      }
      if (criteria.to) {
        where.push(`a.occurred_at < ((:to::date + 1)::timestamp at time zone 'Europe/Copenhagen')`)
        replacements.to = criteria.to
      }
      if (criteria.sampleLabel) {
        where.push('s.label = :sampleLabel')
        replacements.sampleLabel = criteria.sampleLabel
      }
      if (after) {
        where.push('(a.occurred_at, a.id) < (:afterAt::timestamptz, :afterId)')
        Object.assign(replacements, { afterAt: after[0], afterId: after[1] })
      }
      const rows = await database.sequelize.query<{
        id: number
        occurred_at: Date
        actor_kind: string
        actor_name: string | null
        actor_role: string | null
        actor_biobank: string | null
        action: string
        subject_donor_id: number | null
        sample_label: string | null
        details: Record<string, unknown>
        chain: number
        chain_seq: number
        hash: string
        cursor_at: string
      }>(
        `select a.id, a.occurred_at, to_char(a.occurred_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_at, a.actor_kind, su.name as actor_name, su.role as actor_role, b.code as actor_biobank, a.action,
                a.subject_donor_id, s.label as sample_label, a.details, a.chain, a.chain_seq, encode(a.hash, 'hex') as hash
           from audit_events a
           left join staff_users su on su.id = a.actor_staff_id
           left join biobanks b on b.id = su.biobank_id
           left join samples s on s.id = a.sample_id
          ${where.length > 0 ? `where ${where.join(' and ')}` : ''}
          order by a.occurred_at desc, a.id desc
          limit :limit`,
        { replacements, type: QueryTypes.SELECT },
      )
      await audit.record({ actor: { kind: 'staff', staffUserId: user.staffUserId }, action: 'audit.search', details: { criteria }, requestId })
      const shown = rows.slice(0, AUDIT_PAGE_SIZE)
      const page = shown.map((r) => ({
        id: Number(r.id),
        occurredAt: r.occurred_at,
        actorKind: r.actor_kind,
        actorName: r.actor_name,
        actorRole: r.actor_role,
        actorBiobank: r.actor_biobank,
        action: r.action,
        subjectDonorId: r.subject_donor_id === null ? null : Number(r.subject_donor_id),
        sampleLabel: r.sample_label,
        details: r.details,
        chain: Number(r.chain),
        chainSeq: Number(r.chain_seq),
        hash: r.hash,
      }))
      const last = shown.at(-1)
      return { rows: page, nextCursor: rows.length > AUDIT_PAGE_SIZE && last ? encodeCursor({ cursorAt: last.cursor_at, id: Number(last.id) }) : null }
    },
  }
}

export type AuditSearch = ReturnType<typeof createAuditSearch>
