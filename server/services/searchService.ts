// Finding samples: by label, donor CPR (audited), material, dates, biobank, availability; keyset pagination.
//
// Order: newest collected first, ties broken by id, i.e. (collected_at desc, id desc): a total, stable order that
// the indexes of migrations/2026-11-26T0005-search-indexes.ts deliver without sorting. A page is found by the key of
// the row before it (never OFFSET), so page 1 and page 10,000 cost the same. Each biobank in scope is searched on its
// own (an index range per biobank, LATERAL) and the few candidate rows are merged, so the auditor's search across
// every biobank uses the same indexes as a registrar's search of one.
import { QueryTypes, type Transaction } from 'sequelize'
import { z } from 'zod'
import type { ServiceDeps } from './serviceDeps.ts'
import type { SessionUser, StaffSessionUser } from './authService.ts'
import { assertStaffMay, ForbiddenError } from './authorization.ts'
import { sampleCriteriaSchema, type SampleCriteria } from '../domain/sampleCriteria.ts'
import { maskCpr, parseCpr, type CprError } from '../domain/cpr.ts'
import type { Availability, BiobankCode, Lineage, MaterialType } from '../domain/vocabulary.ts'

/** Rows per page of the search page. */
export const SEARCH_PAGE_SIZE = 50
/** At most this many samples of one donor are shown for a CPR search (newest first); the page says when more exist. */
export const CPR_RESULT_CAP = 500

/** Dates of the criteria are calendar days in Denmark. */
const TIME_ZONE = 'Europe/Copenhagen'

/** Where a page starts: the sort key of the row next to it. Ids are strings (bigint). */
export interface SampleKey {
  /** collected_at in UTC with microseconds, exactly as PostgreSQL stores it: `2024-03-12T08:40:00.000000Z`. */
  collectedAt: string
  id: string
}

/** `after`: the rows that follow `key` in the order (next page); `before`: the rows that precede it (previous page). */
export interface SampleKeyset {
  direction: 'after' | 'before'
  key: SampleKey
}

export interface SampleQueryOptions {
  /** The biobanks to search; the caller has checked the user may read each. Empty finds nothing. */
  biobankIds: readonly number[]
  keyset?: SampleKeyset
  /** Rows to return (ask for one more than a page to learn whether another page follows). */
  limit: number
  /**
   * Columns of the result, over `s` (samples) and `b` (biobanks). The sort key is always added as
   * `key_collected_at` (text, see SampleKey) and `key_id` (text).
   */
  select?: string
}

export interface SampleQuery {
  sql: string
  replacements: Record<string, unknown>
}

/**
 * The conditions of `criteria` on samples aliased `s`, with their replacements (names prefixed `sc_`), for Sequelize
 * `replacements`. Values are never spliced into the SQL. `criteria.biobank` is not here: the scope is a list of
 * biobank ids the caller resolved and authorised (see buildSampleQuery). Trusts `criteria` to be parsed already.
 */
export function sampleCriteriaConditions(criteria: SampleCriteria): { conditions: string[]; replacements: Record<string, unknown> } {
  const conditions: string[] = []
  const replacements: Record<string, unknown> = {}
  if (criteria.label !== undefined) {
    conditions.push('s.label = :sc_label')
    replacements.sc_label = criteria.label
  }
  if (criteria.materialType !== undefined) {
    conditions.push('s.material_type = :sc_materialType')
    replacements.sc_materialType = criteria.materialType
  }
  if (criteria.collectedFrom !== undefined) {
    // From the start of that day in Denmark.
    conditions.push(`s.collected_at >= (cast(:sc_collectedFrom as date) + time '00:00') at time zone '${TIME_ZONE}'`)
    replacements.sc_collectedFrom = criteria.collectedFrom
  }
  if (criteria.collectedTo !== undefined) {
    // Up to the end of that day in Denmark (the start of the next).
    conditions.push(`s.collected_at < (cast(:sc_collectedTo as date) + 1 + time '00:00') at time zone '${TIME_ZONE}'`)
    replacements.sc_collectedTo = criteria.collectedTo
  }
  if (criteria.availability !== undefined) {
    conditions.push('s.availability = :sc_availability')
    replacements.sc_availability = criteria.availability
  }
  if (criteria.donorId !== undefined) {
    conditions.push('s.donor_id = :sc_donorId')
    replacements.sc_donorId = criteria.donorId
  }
  return { conditions, replacements }
}

const DEFAULT_SELECT = `s.public_id as "publicId", s.label, s.material_type as "materialType", s.collected_at as "collectedAt",
  s.availability, s.lineage, b.code as "biobankCode", b.name as "biobankName"`

/**
 * One page of the samples matching `criteria` in `biobankIds`, by keyset. Rows come in scan order: newest first,
 * except for a `before` keyset, which yields the preceding rows oldest first (nearest the key first); reverse them
 * for display. Reusable by the exports: follow `after` the last row's key until fewer than `limit` rows come back.
 *
 * Per biobank, an index range scan (samples_search_by_date, or samples_search_by_material with a material type)
 * reads at most `limit` keys in order, index-only; the merged `limit` keys are then joined to their rows.
 */
export function buildSampleQuery(criteria: SampleCriteria, options: SampleQueryOptions): SampleQuery {
  const { conditions, replacements } = sampleCriteriaConditions(criteria)
  const limit = Math.trunc(options.limit)
  if (!(limit >= 1)) throw new RangeError('limit must be at least 1')
  const backwards = options.keyset?.direction === 'before'
  const ids = options.biobankIds.map((id) => Math.trunc(id)).filter((id) => Number.isSafeInteger(id))
  const where = ['s.biobank_id = scope.biobank_id', ...conditions]
  if (options.keyset) {
    where.push(`(s.collected_at, s.id) ${backwards ? '>' : '<'} (cast(:sk_collectedAt as timestamptz), cast(:sk_id as bigint))`)
    replacements.sk_collectedAt = options.keyset.key.collectedAt
    replacements.sk_id = options.keyset.key.id
  }
  const order = backwards ? 'asc' : 'desc'
  replacements.sq_biobankIds = ids.length > 0 ? ids : [0]
  replacements.sq_limit = ids.length > 0 ? limit : 0
  const sql = `
    with page as (
      select k.id, k.collected_at
      from unnest(array[:sq_biobankIds]::smallint[]) as scope (biobank_id)
      cross join lateral (
        select s.id, s.collected_at
        from samples s
        where ${where.join('\n          and ')}
        order by s.collected_at ${order}, s.id ${order}
        limit :sq_limit
      ) k
      order by k.collected_at ${order}, k.id ${order}
      limit :sq_limit
    )
    select ${options.select ?? DEFAULT_SELECT},
      to_char(s.collected_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as key_collected_at,
      s.id::text as key_id
    from page p
    join samples s on s.id = p.id
    join biobanks b on b.id = s.biobank_id
    order by p.collected_at ${order}, p.id ${order}`
  return { sql, replacements }
}

// --- Cursors: opaque to the user, base64url of the key of the row next to the page ---

const cursorSchema = z.object({
  d: z.enum(['a', 'b']),
  t: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/),
  i: z.string().regex(/^[1-9]\d{0,18}$/),
})

export function encodeCursor(keyset: SampleKeyset): string {
  const payload = { d: keyset.direction === 'after' ? 'a' : 'b', t: keyset.key.collectedAt, i: keyset.key.id }
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url')
}

/** The keyset of a cursor, or undefined when it is not one of ours (edited, truncated, from another version). */
export function decodeCursor(cursor: string): SampleKeyset | undefined {
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) return undefined
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')))
    if (!parsed.success) return undefined
    // A real instant PostgreSQL accepts (no 31 February, no year 0) and an id that fits a bigint.
    const { t, i } = parsed.data
    const instant = new Date(`${t.slice(0, 23)}Z`)
    if (Number.isNaN(instant.getTime()) || t.startsWith('0000') || instant.toISOString().slice(0, 19) !== t.slice(0, 19)) return undefined
    if (BigInt(i) > 9_223_372_036_854_775_807n) return undefined
    return { direction: parsed.data.d === 'a' ? 'after' : 'before', key: { collectedAt: parsed.data.t, id: parsed.data.i } }
  } catch {
    return undefined
  }
}

// --- The service ---

export class InvalidCriteriaError extends Error {
  readonly status = 400
  constructor(readonly issues: { field: string; code: string }[]) {
    super(`invalid search criteria: ${issues.map((i) => i.field).join(', ')}`)
  }
}

export class InvalidCursorError extends Error {
  readonly status = 400
  constructor() {
    super('invalid page cursor')
  }
}

export interface SampleSearchRow {
  publicId: string
  label: string
  materialType: MaterialType
  collectedAt: Date
  availability: Availability
  lineage: Lineage
  biobankCode: BiobankCode
  biobankName: string
}

export interface SearchPage {
  rows: SampleSearchRow[]
  /** Cursor of the next (older) page, when there is one. */
  nextCursor?: string
  /** Cursor of the previous (newer) page, when this is not the first. */
  previousCursor?: string
  /** The biobanks searched, by code. */
  biobanks: BiobankCode[]
}

export type CprSearchResult =
  | { ok: false; error: CprError }
  | {
      ok: true
      /** `150372-****`: the only form of the number that leaves the service. */
      maskedCpr: string
      rows: SampleSearchRow[]
      /** How many samples of the donor lie in the scope; more than rows.length when capped. */
      total: number
      capped: boolean
      biobanks: BiobankCode[]
    }

type RawRow = SampleSearchRow & { key_collected_at: string; key_id: string }

const keyOf = (row: RawRow): SampleKey => ({ collectedAt: row.key_collected_at, id: row.key_id })
const stripKey = ({ key_collected_at: _t, key_id: _i, ...row }: RawRow): SampleSearchRow => row

function staffOnly(user: SessionUser | undefined): StaffSessionUser {
  if (user?.kind !== 'staff') throw new ForbiddenError('staff only')
  return user
}

export function createSearchService(deps: ServiceDeps) {
  const { database, cpr, audit } = deps
  const { sequelize } = database

  /**
   * The biobanks `user` searches, each checked with assertStaffMay: registrars and admins their own (asking for
   * another is refused), the auditor the one asked for or every biobank.
   */
  async function scopeOf(user: StaffSessionUser, requested: BiobankCode | undefined, transaction?: Transaction): Promise<{ ids: number[]; codes: BiobankCode[] }> {
    const all = await sequelize.query<{ id: number; code: BiobankCode }>('select id, code from biobanks order by code', { type: QueryTypes.SELECT, transaction })
    let inScope: typeof all
    if (requested !== undefined) {
      const found = all.find((b) => b.code === requested)
      if (!found) throw new InvalidCriteriaError([{ field: 'biobank', code: 'unknown' }])
      inScope = [found]
    } else if (user.role === 'auditor') {
      inScope = all
    } else {
      inScope = all.filter((b) => b.id === user.biobankId)
      if (inScope.length === 0) throw new ForbiddenError('staff user without a biobank')
    }
    for (const biobank of inScope) assertStaffMay(user, 'read', biobank.id)
    return { ids: inScope.map((b) => b.id), codes: inScope.map((b) => b.code) }
  }

  async function query(criteria: SampleCriteria, options: SampleQueryOptions, transaction?: Transaction): Promise<RawRow[]> {
    const { sql, replacements } = buildSampleQuery(criteria, options)
    return sequelize.query<RawRow>(sql, { replacements, type: QueryTypes.SELECT, transaction })
  }

  /**
   * One page (SEARCH_PAGE_SIZE rows) of the samples matching `criteria` that `user` may read, newest collected
   * first. `cursor` is a nextCursor or previousCursor of an earlier page. Throws InvalidCriteriaError,
   * InvalidCursorError, or ForbiddenError (a citizen; a registrar or admin asking for another biobank).
   * A `donorId` in `criteria` is ignored: only searchByCpr searches by donor, and audits it.
   */
  async function search(user: SessionUser | undefined, criteria: SampleCriteria, cursor?: string): Promise<SearchPage> {
    const staff = staffOnly(user)
    const parsed = sampleCriteriaSchema.safeParse(criteria)
    if (!parsed.success) {
      throw new InvalidCriteriaError(parsed.error.issues.map((issue) => ({ field: String(issue.path[0] ?? ''), code: issue.code })))
    }
    const scope = await scopeOf(staff, parsed.data.biobank)
    const keyset = cursor === undefined || cursor === '' ? undefined : decodeCursor(cursor)
    if (cursor !== undefined && cursor !== '' && keyset === undefined) throw new InvalidCursorError()

    const rows = await query(parsed.data, { biobankIds: scope.ids, keyset, limit: SEARCH_PAGE_SIZE + 1 })
    const more = rows.length > SEARCH_PAGE_SIZE
    const page = rows.slice(0, SEARCH_PAGE_SIZE)

    if (keyset?.direction === 'before') {
      // Back at the top (nothing precedes these rows): show the first page itself, full.
      if (!more) return search(staff, parsed.data)
      page.reverse()
      return {
        rows: page.map(stripKey),
        previousCursor: encodeCursor({ direction: 'before', key: keyOf(page[0]!) }),
        nextCursor: encodeCursor({ direction: 'after', key: keyOf(page[page.length - 1]!) }),
        biobanks: scope.codes,
      }
    }
    return {
      rows: page.map(stripKey),
      nextCursor: more ? encodeCursor({ direction: 'after', key: keyOf(page[page.length - 1]!) }) : undefined,
      previousCursor: keyset && page.length > 0 ? encodeCursor({ direction: 'before', key: keyOf(page[0]!) }) : undefined,
      biobanks: scope.codes,
    }
  }

  return {
    search,


    /**
     * The samples (newest first, at most CPR_RESULT_CAP) of the person with CPR number `cprInput` in the biobanks
     * `user` may read. The lookup goes by the keyed HMAC and is audited (`search.cpr`, subject the donor when one is
     * found, never the number) in the same transaction. An unparsable number is refused without a lookup.
     * Whether the person is known at all is not revealed: unknown and no-samples-here look alike.
     */
    async searchByCpr(user: SessionUser | undefined, cprInput: string, requestId?: string): Promise<CprSearchResult> {
      const staff = staffOnly(user)
      const parsed = parseCpr(cprInput)
      if (!parsed.ok) return { ok: false, error: parsed.error }

      return sequelize.transaction(async (transaction) => {
        const scope = await scopeOf(staff, undefined, transaction)
        const [donor] = await sequelize.query<{ id: string }>('select id from donors where cpr_hmac = :hmac', {
          replacements: { hmac: cpr.hash(parsed.cpr) },
          type: QueryTypes.SELECT,
          transaction,
        })
        const donorId = donor ? Number(donor.id) : undefined
        let rows: RawRow[] = []
        let total = 0
        if (donorId !== undefined) {
          rows = await query({ donorId }, { biobankIds: scope.ids, limit: CPR_RESULT_CAP + 1 }, transaction)
          total = rows.length
          if (rows.length > CPR_RESULT_CAP) {
            rows = rows.slice(0, CPR_RESULT_CAP)
            const [counted] = await sequelize.query<{ n: string }>('select count(*) as n from samples where donor_id = :donorId and biobank_id in (:ids)', {
              replacements: { donorId, ids: scope.ids },
              type: QueryTypes.SELECT,
              transaction,
            })
            total = Number(counted!.n)
          }
        }
        await audit.record(
          {
            actor: { kind: 'staff', staffUserId: staff.staffUserId },
            action: 'search.cpr',
            subjectDonorId: donorId ?? null,
            details: { found: donorId !== undefined, samples: total, shown: rows.length, biobanks: scope.codes },
            requestId,
          },
          transaction,
        )
        return { ok: true, maskedCpr: maskCpr(parsed.cpr), rows: rows.map(stripKey), total, capped: total > rows.length, biobanks: scope.codes }
      })
    },

    /** The biobanks a staff user can choose between on the search page (every one for the auditor). */
    async biobankChoices(user: SessionUser | undefined): Promise<{ code: BiobankCode; name: string }[]> {
      const staff = staffOnly(user)
      const all = await sequelize.query<{ id: number; code: BiobankCode; name: string }>('select id, code, name from biobanks order by code', { type: QueryTypes.SELECT })
      return all.filter((b) => staff.role === 'auditor' || b.id === staff.biobankId).map(({ code, name }) => ({ code, name }))
    },
  }
}

export type SearchService = ReturnType<typeof createSearchService>
