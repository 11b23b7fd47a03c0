// Research release that provably honours the VAR opt-out (Sundhedsloven § 29).
//
// A biobank admin (or an integration holding the admin's API key) registers a research project and asks which of
// a list of samples may be released to it. The rules are the pure functions of server/domain/researchUse.ts, used
// as a decision table (they are evaluated here for every combination and handed to one set-based SQL statement):
//   - a material opt-out excludes the sample from all research, a genetic one whenever the project asks for
//     genetic data (`optOutExclusion`);
//   - the opt-out is the donor's: it reaches every aliquot and derivative, because every sample carries donor_id;
//   - a sample that is gone (`researchUse` says 'unavailable': distributed, depleted, destroyed) is not available.
//     A 'reserved' sample IS eligible: a reservation is the biobank's own bookkeeping, which the admin settles
//     before release, while the citizen's choice and the sample's existence are what the check is about; this is
//     also what the citizen's own view says (researchUse treats 'reserved' as usable);
//   - a label that is not a sample of the project's biobank is 'unknown' (another biobank's labels too).
// When several reasons apply, the first of unknown, opt-out (material, genetic), not available is recorded, so
// the proof shows every sample whose donor had opted out as excluded for that reason.
//
// No race: a check is one transaction (its stored answer, the check row and its audit event commit together or
// not at all), and everything it reads is read by ONE statement: the CREATE TABLE AS that reads the register
// (opt_outs) and the samples and decides, and that also records its own snapshot (pg_current_snapshot()) and the
// register version (the highest opt_out_events.id visible in it). A statement's snapshot is taken when it starts,
// after the check was asked for, so an opt-out whose receipt was shown before the check started was committed
// before that snapshot and is always honoured. Its parallel workers share that snapshot. (READ COMMITTED, like
// every other service: the audit event is then written as everywhere else, seeing the latest audit trail rather
// than a snapshot from the check's start.)
//
// Scale: labels are streamed with COPY into an unlogged table of the check (never all in memory), one statement
// decides them all on every core, and the answer is stored in chunks of 50 labels (eligibility_check_chunks; the
// view eligibility_check_items shows them label by label). The answer shows counts by reason and the eligible
// labels only: the labels of excluded samples are never shown or downloaded, so no donor who opted out is named.
import crypto from 'node:crypto'
import { once } from 'node:events'
import type pg from 'pg'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { QueryTypes, type Transaction } from 'sequelize'
import { z } from 'zod'
import type { ServiceDeps } from './serviceDeps.ts'
import type { StaffSessionUser } from './authService.ts'
import type { ApiClient } from './apiClientService.ts'
import { assertStaffMay } from './authorization.ts'
import { optOutExclusion, researchUse, type ResearchPurpose } from '../domain/researchUse.ts'
import { AVAILABILITY_CODES } from '../domain/vocabulary.ts'
import type { SampleCriteria } from '../domain/sampleCriteria.ts'
import { allowLongQueries, longQuery } from '../db/boundedClient.ts'
import { FirstOccurrences } from './firstOccurrences.ts'

export const RESEARCH_PURPOSES = ['material', 'genetic', 'both'] as const satisfies readonly ResearchPurpose[]

/** A small list of GA4GH Data Use Ontology codes a project may be tagged with (DUO term ids in the locale texts). */
export const DUO_CODES = ['NRES', 'GRU', 'HMB', 'DS', 'POA', 'NCU', 'NPUNCU', 'IRB', 'PUB', 'COL'] as const
export type DuoCode = (typeof DUO_CODES)[number]
export const DUO_TERMS: Record<DuoCode, string> = {
  NRES: 'DUO:0000004',
  GRU: 'DUO:0000042',
  HMB: 'DUO:0000006',
  DS: 'DUO:0000007',
  POA: 'DUO:0000011',
  NCU: 'DUO:0000046',
  NPUNCU: 'DUO:0000018',
  IRB: 'DUO:0000021',
  PUB: 'DUO:0000019',
  COL: 'DUO:0000020',
}

export const CHECK_OUTCOMES = ['eligible', 'excluded_material', 'excluded_genetic', 'not_available', 'unknown'] as const
export type CheckOutcome = (typeof CHECK_OUTCOMES)[number]
export type CheckSource = 'list' | 'file' | 'search' | 'api'

/** The most labels one check takes (issue 7: a million in under 5 s). */
export const MAX_LABELS = 1_000_000
/**
 * Positions per stored chunk of a check's answer (the eligibility_check_chunks migration uses the same): a chunk
 * of 50 stays under PostgreSQL's 2 kB TOAST threshold, so it is stored as it is, neither compressed nor out of line.
 */
export const CHECK_CHUNK = 50

/** How an outcome is stored in eligibility_check_chunks.outcomes (one "char" each). */
export const OUTCOME_CODES: Record<CheckOutcome, string> = { eligible: 'e', excluded_material: 'm', excluded_genetic: 'g', not_available: 'n', unknown: 'u' }
/** Lists up to this long are decided from memory; longer ones are copied into a work table of the check first. */
const SMALL_LIST = 10_000
/** A sample label is at most 64 characters (the samples table's CHECK). */
export const MAX_LABEL_LENGTH = 64

/** Tab, line breaks, NUL and the other control characters (Unicode category Cc). */
export const CONTROL_CHARACTERS = /\p{Cc}/u

const trimmed = (max: number) => z.string().trim().min(1).max(max)

/** A research project as a form or API sends it. */
export const projectInputSchema = z.object({
  title: trimmed(300),
  reference: trimmed(100).refine((value) => !CONTROL_CHARACTERS.test(value)),
  approvalId: trimmed(100).refine((value) => !CONTROL_CHARACTERS.test(value)),
  purpose: z.enum(RESEARCH_PURPOSES),
  duoCode: z.preprocess((value) => (value === '' ? undefined : value), z.enum(DUO_CODES).optional()),
})
export type ProjectInput = z.infer<typeof projectInputSchema>

/** A project named by its id (a number, or a string of digits) or by its reference. */
export const projectRefSchema = z.union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().trim().min(1).max(100)])
export type ProjectRef = z.infer<typeof projectRefSchema>

/** One label as a request may hold it; anything else that is not a sample of the biobank counts as unknown. */
export const labelSchema = z
  .string()
  .min(1, 'a label has at least one character')
  .max(MAX_LABEL_LENGTH, `a label has at most ${MAX_LABEL_LENGTH} characters`)
  .refine((value) => !CONTROL_CHARACTERS.test(value), 'a label has no control characters (tab, line break, ...)')

/** A label in a request is refused (the whole check is refused; nothing is stored). `index` counts from 0. */
export class LabelError extends Error {
  constructor(
    readonly index: number,
    readonly label: unknown,
    readonly reason: 'empty' | 'tooLong' | 'control' | 'notString',
  ) {
    super(`label ${index}: ${reason}`)
  }
}

export class TooManyLabelsError extends Error {
  constructor(readonly max: number) {
    super(`more than ${max} labels`)
  }
}

/** The project named does not exist in the requester's biobank. */
export class ProjectNotFoundError extends Error {}

/** The list holds no label (a search that found no sample, an empty body): nothing is stored. */
export class EmptyListError extends Error {}

/** The search criteria name another biobank than the project's. */
export class CriteriaBiobankError extends Error {}

export function labelProblem(value: unknown): LabelError['reason'] | null {
  if (typeof value !== 'string') return 'notString'
  if (value.length === 0) return 'empty'
  if (value.length > MAX_LABEL_LENGTH) return 'tooLong'
  if (CONTROL_CHARACTERS.test(value)) return 'control'
  return null
}

/** The labels of a pasted or uploaded list: separated by line breaks, commas, semicolons or spaces. */
export function labelsFromText(text: string): string[] {
  return text
    .replace(/^\uFEFF/, '')
    .split(/[\s,;]+/)
    .filter((label) => label !== '')
}

export interface Project {
  id: number
  biobankId: number
  title: string
  reference: string
  approvalId: string
  purpose: ResearchPurpose
  duoCode: DuoCode | null
  createdAt: Date
  createdByName: string
  checkCount: number
  lastCheckAt: Date | null
}

export interface CheckSummary {
  id: string
  project: { id: number; title: string; reference: string; approvalId: string; duoCode: DuoCode | null }
  purpose: ResearchPurpose
  source: CheckSource
  criteria: SampleCriteria | null
  createdAt: Date
  requestedBy: { kind: 'staff' | 'apiClient'; name: string }
  requested: number
  duplicates: number
  eligible: number
  excluded: { material: number; genetic: number; notAvailable: number; unknown: number }
  registerVersion: number
  snapshot: string
  requestedSha256: string
}

/** Who asks for a check: a biobank admin on the web, or an integration with the admin's API key. */
export type Requester = { kind: 'staff'; user: StaffSessionUser } | { kind: 'apiClient'; client: ApiClient }

/** A request's labels: a list, or batches as they arrive (a streamed request body). */
export type LabelSource = Iterable<string> | AsyncIterable<readonly unknown[]>

// ---------------------------------------------------------------------------------------------------------------
// The rules as a decision table, from the pure domain functions.

/**
 * The outcome an opt-out gives a sample for `purpose`, indexed by 1 + 2·material + genetic (a PostgreSQL array is
 * 1-based); null where the donor's choices do not exclude it.
 */
export function optOutOutcomeTable(purpose: ResearchPurpose): (CheckOutcome | null)[] {
  const table: (CheckOutcome | null)[] = []
  for (const material of [false, true]) {
    for (const genetic of [false, true]) {
      const exclusion = optOutExclusion({ material, genetic }, purpose)
      table.push(exclusion === 'material' ? 'excluded_material' : exclusion === 'genetic' ? 'excluded_genetic' : null)
    }
  }
  return table
}

/** The availabilities in which a sample cannot be released to anyone. */
export const UNAVAILABLE = AVAILABILITY_CODES.filter((code) => researchUse({ material: false, genetic: false }, code) === 'unavailable')

// ---------------------------------------------------------------------------------------------------------------

interface ProjectRow {
  id: number
  biobank_id: number
  title: string
  reference: string
  approval_id: string
  purpose: ResearchPurpose
  duo_code: DuoCode | null
  created_at: Date
  created_by_name: string
  check_count: number
  last_check_at: Date | null
}

interface CheckRow {
  id: string
  project_id: number
  title: string
  reference: string
  approval_id: string
  duo_code: DuoCode | null
  purpose: ResearchPurpose
  source: CheckSource
  criteria: SampleCriteria | null
  created_at: Date
  staff_name: string | null
  client_name: string | null
  requested_count: number
  duplicate_count: number
  eligible_count: number
  excluded_material_count: number
  excluded_genetic_count: number
  not_available_count: number
  unknown_count: number
  register_version: number
  snapshot: string
  requested_sha256: string
  biobank_id: number
  api_client_id: number | null
}

const toProject = (row: ProjectRow): Project => ({
  id: Number(row.id),
  biobankId: row.biobank_id,
  title: row.title,
  reference: row.reference,
  approvalId: row.approval_id,
  purpose: row.purpose,
  duoCode: row.duo_code,
  createdAt: row.created_at,
  createdByName: row.created_by_name,
  checkCount: Number(row.check_count ?? 0),
  lastCheckAt: row.last_check_at ?? null,
})

const toSummary = (row: CheckRow): CheckSummary => ({
  id: row.id,
  project: { id: Number(row.project_id), title: row.title, reference: row.reference, approvalId: row.approval_id, duoCode: row.duo_code },
  purpose: row.purpose,
  source: row.source,
  criteria: row.criteria,
  createdAt: row.created_at,
  requestedBy: row.client_name !== null ? { kind: 'apiClient', name: row.client_name } : { kind: 'staff', name: row.staff_name ?? '' },
  requested: row.requested_count,
  duplicates: row.duplicate_count,
  eligible: row.eligible_count,
  excluded: { material: row.excluded_material_count, genetic: row.excluded_genetic_count, notAvailable: row.not_available_count, unknown: row.unknown_count },
  registerVersion: Number(row.register_version),
  snapshot: row.snapshot,
  requestedSha256: row.requested_sha256,
})

const PROJECT_COLUMNS = `p.id, p.biobank_id, p.title, p.reference, p.approval_id, p.purpose, p.duo_code, p.created_at, u.name as created_by_name`

const CHECK_SELECT = `
  select c.id, c.project_id, p.title, p.reference, p.approval_id, p.duo_code, c.purpose, c.source, c.criteria, c.created_at,
         su.name as staff_name, ac.name as client_name, c.requested_count, c.duplicate_count, c.eligible_count,
         c.excluded_material_count, c.excluded_genetic_count, c.not_available_count, c.unknown_count,
         c.register_version, c.snapshot, c.requested_sha256, p.biobank_id, c.api_client_id
    from eligibility_checks c
    join research_projects p on p.id = c.project_id
    left join staff_users su on su.id = c.staff_user_id
    left join api_clients ac on ac.id = c.api_client_id`

/**
 * A time-ordered UUID (version 7, RFC 9562): 48 bits of milliseconds, then random bits. A new check's items then
 * go to the right-hand end of the eligible-items index instead of a random place in it.
 */
export function uuidV7(now = Date.now()): string {
  const bytes = crypto.randomBytes(16)
  bytes.writeUIntBE(now, 0, 6)
  bytes[6] = (bytes[6]! & 0x0f) | 0x70
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** A label as one line of COPY's text format: only the backslash can need escaping (control characters are refused). */
const copyLine = (position: number, label: string) =>
  `${chunkOf(position)}\t${position}\t${label.includes('\\') ? label.replace(/\\/g, '\\\\') : label}\n`

/** The stored chunk of the answer that holds a (1-based) position. */
const chunkOf = (position: number) => Math.floor((position - 1) / CHECK_CHUNK)

/** SQL conditions on `samples s` for search criteria, with :named replacements added to `replacements`. */
function criteriaConditions(criteria: SampleCriteria, replacements: Record<string, unknown>): string[] {
  const conditions: string[] = []
  if (criteria.label !== undefined) {
    conditions.push(`s.label like :labelPrefix`)
    replacements.labelPrefix = `${criteria.label.replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  }
  if (criteria.materialType !== undefined) {
    conditions.push('s.material_type = :materialType')
    replacements.materialType = criteria.materialType
  }
  if (criteria.availability !== undefined) {
    conditions.push('s.availability = :availability')
    replacements.availability = criteria.availability
  }
  if (criteria.collectedFrom !== undefined) {
    conditions.push(`s.collected_at >= (:collectedFrom::date)::timestamp at time zone 'Europe/Copenhagen'`)
    replacements.collectedFrom = criteria.collectedFrom
  }
  if (criteria.collectedTo !== undefined) {
    conditions.push(`s.collected_at < (:collectedTo::date + 1)::timestamp at time zone 'Europe/Copenhagen'`)
    replacements.collectedTo = criteria.collectedTo
  }
  return conditions
}

export function createEligibilityService(deps: ServiceDeps) {
  const { database, audit, logger } = deps
  const { sequelize } = database

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}, transaction?: Transaction) =>
    sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction })

  /** The admin's own biobank, which they may release from; throws ForbiddenError for anyone else. */
  function releasingBiobank(user: StaffSessionUser): number {
    return assertStaffMay(user, 'release', user.biobankId ?? -1).biobankId!
  }

  async function projectRow(projectId: number, transaction?: Transaction): Promise<ProjectRow | undefined> {
    const [row] = await select<ProjectRow>(
      `select ${PROJECT_COLUMNS} from research_projects p join staff_users u on u.id = p.created_by_staff_id where p.id = :projectId`,
      { projectId },
      transaction,
    )
    return row
  }

  /** The project a requester names, in their biobank; ProjectNotFoundError otherwise (another biobank's too). */
  async function resolveProject(requester: Requester, ref: ProjectRef, transaction: Transaction): Promise<ProjectRow> {
    const biobankId = requester.kind === 'staff' ? releasingBiobank(requester.user) : requester.client.biobankId
    const text = typeof ref === 'number' ? String(ref) : ref.trim()
    // A number is an id; a string is a reference, or an id when no reference matches (a reference wins).
    const id = /^[0-9]{1,15}$/.test(text) ? Number(text) : 0
    const rows = await select<ProjectRow>(
      `select ${PROJECT_COLUMNS} from research_projects p join staff_users u on u.id = p.created_by_staff_id
        where p.biobank_id = :biobankId and (p.id = :id${typeof ref === 'string' ? ' or p.reference = :text' : ''})
        order by (p.reference = :text) desc limit 1`,
      { biobankId, text, id },
      transaction,
    )
    if (!rows[0]) throw new ProjectNotFoundError(`no project ${text} in biobank ${biobankId}`)
    return rows[0]
  }

  /** Copies labels into the check's work table, validating each; returns their count and SHA-256. */
  async function copyLabels(transaction: Transaction, table: string, labels: LabelSource): Promise<{ requested: number; sha256: string }> {
    // The transaction's own connection (Sequelize keeps it on the transaction), so COPY is part of the check.
    const connection = (transaction as unknown as { connection: pg.Client }).connection
    // A megabyte of buffer, so labels are validated and encoded here while PostgreSQL reads the ones before.
    const copy = connection.query(copyFrom(`copy ${table} (chunk, position, label) from stdin`, { highWaterMark: 1 << 20 }))
    const done = new Promise<void>((resolve, reject) => {
      copy.on('finish', resolve)
      copy.on('error', reject)
    })
    // A database error mid-copy is thrown where `done` is awaited, not as an unhandled rejection before that.
    done.catch(() => undefined)
    const hash = crypto.createHash('sha256')
    // A label asked about twice is copied once, at its first position (cheaper here than in the database). Labels
    // that may have been seen before are copied last, once the whole list says which are first occurrences.
    const firsts = new FirstOccurrences()
    let count = 0
    let failure: unknown
    const send = async (lines: string) => {
      if (lines !== '' && !copy.write(lines)) await once(copy, 'drain')
    }
    const write = async (batch: readonly unknown[]) => {
      let lines = ''
      let listed = ''
      for (const label of batch) {
        const problem = labelProblem(label)
        if (problem) throw new LabelError(count, label, problem)
        if (++count > MAX_LABELS) throw new TooManyLabelsError(MAX_LABELS)
        listed += `${label as string}\n`
        if (firsts.add(label as string)) lines += copyLine(count, label as string)
      }
      hash.update(listed)
      await send(lines)
    }
    try {
      if (Symbol.asyncIterator in labels) {
        for await (const batch of labels) await write(batch)
      } else {
        let batch: string[] = []
        for (const label of labels) {
          batch.push(label)
          if (batch.length === 5000) {
            await write(batch)
            batch = []
          }
        }
        await write(batch)
      }
      await send(firsts.heldFirsts().reduce((lines, position) => lines + copyLine(position, firsts.label(position)), ''))
    } catch (error) {
      failure = error
    }
    // Ended properly even after a refusal: the rows go with the transaction's rollback.
    copy.end()
    await done
    if (failure !== undefined) throw failure
    return { requested: count, sha256: hash.digest('hex') }
  }

  /** A short list held in memory: validated and hashed here, and handed to the deciding statement as an array. */
  function listInMemory(labels: readonly string[]): { requested: number; sha256: string; distinct: { labels: string[]; positions: number[] } } {
    const distinct = { labels: [] as string[], positions: [] as number[] }
    const seen = new Set<string>()
    labels.forEach((label, index) => {
      const problem = labelProblem(label)
      if (problem) throw new LabelError(index, label, problem)
      if (seen.has(label)) return
      seen.add(label)
      distinct.labels.push(label)
      distinct.positions.push(index + 1)
    })
    if (labels.length > MAX_LABELS) throw new TooManyLabelsError(MAX_LABELS)
    const sha256 = crypto.createHash('sha256').update(labels.map((label) => `${label}\n`).join('')).digest('hex')
    return { requested: labels.length, sha256, distinct }
  }

  interface CheckRequest {
    requester: Requester
    /** The project; a function when it is known only after the labels (a streamed body may name it last). */
    project: ProjectRef | (() => ProjectRef)
    source: CheckSource
    labels: { kind: 'list'; labels: LabelSource } | { kind: 'search'; criteria: SampleCriteria }
    requestId?: string
  }

  type Decided = {
    snapshot: string
    register_version: number
    requested: number | null
    sha256: string | null
  } & Record<CheckOutcome, number>

  async function runCheck(request: CheckRequest): Promise<CheckSummary> {
    const { requester } = request
    // Refuse early (before reading a body) anyone who may not release at all.
    if (requester.kind === 'staff') releasingBiobank(requester.user)
    const checkId = uuidV7()
    const projectRef = () => (typeof request.project === 'function' ? request.project() : request.project)

    // READ COMMITTED, like every other service, so the audit event is written as everywhere else: the check's one
    // snapshot is that of the single statement below that reads the register and the samples and decides.
    const summary = await sequelize.transaction(async (transaction) => {
      // A million labels are decided in one statement that may take minutes: the bulk limit, not the web's.
      allowLongQueries(transaction)
      const labels = request.labels
      // A list given as a short array is decided straight from it; a longer one or a stream is copied (COPY) into
      // an unlogged table of this check, which parallel workers can read (a temporary table they cannot), created
      // and dropped in this transaction; a search is part of the deciding statement.
      const inMemory = labels.kind === 'list' && Array.isArray(labels.labels) && labels.labels.length <= SMALL_LIST
      const workTable = labels.kind === 'list' && !inMemory ? `eligibility_work.request_${checkId.replace(/-/g, '')}` : null
      let listed: { requested: number; sha256: string; distinct?: { labels: string[]; positions: number[] } } | undefined
      if (labels.kind === 'list') {
        if (workTable === null) listed = listInMemory(labels.labels as readonly string[])
        else {
          await sequelize.query(`create unlogged table ${workTable} (chunk integer not null, position integer not null, label text not null)`, { transaction })
          listed = await copyLabels(transaction, workTable, labels.labels)
        }
      }
      const project = await resolveProject(requester, projectRef(), transaction)
      if (requester.kind === 'staff') assertStaffMay(requester.user, 'release', project.biobank_id)
      else if (requester.client.biobankId !== project.biobank_id) throw new ProjectNotFoundError('project of another biobank')
      if (listed?.requested === 0) throw new EmptyListError('no labels to check')

      if (workTable !== null) {
        // Fresh statistics, so the planner hashes a large list instead of looking each label up (and knows how
        // many chunks there are), and memory to hash a million labels, for this transaction only.
        await sequelize.query(`analyze ${workTable}`, { transaction })
        await sequelize.query("set local work_mem = '256MB'", { transaction })
        // The two parallel workers decide, the leader only gathers their chunks: a leader deciding as well competes
        // with them for the cores (on 2 cores, 2.4 s against 2.8 s on average over six runs at 10,000,000 samples).
        await sequelize.query('set local parallel_leader_participation = off', { transaction })
      }

      // Every value below is either a constant of this module or escaped by Sequelize (replacements): a CREATE
      // TABLE AS takes no bind parameters.
      const replacements: Record<string, unknown> = {}
      let requested: string
      if (labels.kind === 'search') {
        const where = criteriaConditions(labels.criteria, replacements).join(' and ')
        requested = `select label, position, (position - 1) / ${CHECK_CHUNK} as chunk
                       from (select s.label, (row_number() over (order by s.label))::int as position from samples s
                              where s.biobank_id = :biobankId${where ? ` and ${where}` : ''}) found`
      } else if (listed?.distinct) {
        replacements.labels = listed.distinct.labels
        replacements.positions = listed.distinct.positions
        requested = `select label, position, (position - 1) / ${CHECK_CHUNK} as chunk from unnest(array[:labels]::text[], array[:positions]::int[]) as t (label, position)`
      } else {
        requested = `select label, position, chunk from ${workTable}`
      }
      replacements.biobankId = project.biobank_id
      const code = (outcome: CheckOutcome | null) => (outcome === null ? 'null' : `'${OUTCOME_CODES[outcome]}'`)
      const optOutCodes = `array[${optOutOutcomeTable(project.purpose).map(code).join(', ')}]::"char"[]`
      const unavailable = `array[${UNAVAILABLE.map((availability) => sequelize.escape(availability)).join(', ')}]::text[]`

      // The check itself, in ONE statement and so in one snapshot, taken when the statement starts (after the
      // check was asked for): the snapshot and register version it saw, then every distinct label decided: unknown,
      // else the donor's opt-out (the decision table from optOutExclusion), else availability (researchUse).
      // Unknown labels that look like a CPR number are stored masked: an admin used to the old VAR upload may
      // paste CPR numbers. The answer is gathered in chunks of CHECK_CHUNK positions.
      // A CREATE TABLE AS, unlike an INSERT, may run in parallel: the join and the chunking use both cores.
      await sequelize.query(
        `create temp table eligibility_decided on commit drop as
         with marker as materialized (
           select pg_current_snapshot()::text as snapshot, coalesce((select max(id) from opt_out_events), 0) as register_version
         ), requested as ${labels.kind === 'search' ? 'materialized' : 'not materialized'} (
           ${requested}
         )
         select m.snapshot, m.register_version,
                ${labels.kind === 'search' ? `(select count(*)::int from requested) as requested,
                (select encode(sha256(convert_to(string_agg(label || E'\\n', '' order by position), 'UTF8')), 'hex') from requested) as sha256` : 'null::int as requested, null::text as sha256'},
                d.*
           from marker m
          cross join (
            select chunk, array_agg(position) as positions, string_agg(label, E'\\n') as labels, array_agg(sample_id) as sample_ids,
                   array_agg(outcome) as outcomes
              from (
                select r.chunk, r.position,
                       case when s.id is null and length(r.label) in (10, 11) and r.label ~ '^[0-3][0-9][01][0-9][0-9]{2}-?[0-9]{4}$' then left(r.label, 6) || '-****'
                            else r.label end as label,
                       s.id as sample_id,
                       case when s.id is null then ${code('unknown')}::"char"
                            else coalesce((${optOutCodes})[1 + 2 * coalesce(o.material, false)::int + coalesce(o.genetic, false)::int],
                                          case when s.availability = any(${unavailable}) then ${code('not_available')}::"char" else ${code('eligible')}::"char" end)
                       end as outcome
                  from requested r
                  left join samples s on s.biobank_id = :biobankId and s.label = r.label
                  left join opt_outs o on o.donor_id = s.donor_id
              ) decided
             group by chunk
          ) d`,
        { replacements, transaction },
      )
      // Counted from the gathered outcomes (counting in the statement above evaluates the decision once per count).
      const [decided] = await select<Decided>(
        `select snapshot, register_version, requested, sha256,
                ${CHECK_OUTCOMES.map((outcome) => `sum(cardinality(array_positions(outcomes, ${code(outcome)}::"char")))::int as ${outcome}`).join(', ')}
           from pg_temp.eligibility_decided group by snapshot, register_version, requested, sha256`,
        {},
        transaction,
      )
      // A search that found nothing: nothing is stored.
      if (!decided) throw new EmptyListError('no samples to check')
      await sequelize.query(
        `insert into eligibility_check_chunks (check_id, chunk, positions, labels, sample_ids, outcomes)
         select :checkId, chunk, positions, labels, sample_ids, outcomes from pg_temp.eligibility_decided`,
        { replacements: { checkId }, transaction },
      )
      if (workTable !== null) await sequelize.query(`drop table ${workTable}`, { transaction })
      listed ??= { requested: decided.requested ?? 0, sha256: decided.sha256 ?? '' }
      const count = (outcome: CheckOutcome) => decided[outcome]
      const distinct = CHECK_OUTCOMES.reduce((sum, outcome) => sum + decided[outcome], 0)
      const summary: CheckSummary = {
        id: checkId,
        project: { id: Number(project.id), title: project.title, reference: project.reference, approvalId: project.approval_id, duoCode: project.duo_code },
        purpose: project.purpose,
        source: request.source,
        criteria: labels.kind === 'search' ? labels.criteria : null,
        createdAt: new Date(),
        requestedBy: requester.kind === 'staff' ? { kind: 'staff', name: requester.user.name } : { kind: 'apiClient', name: requester.client.name },
        requested: listed.requested,
        duplicates: listed.requested - distinct,
        eligible: count('eligible'),
        excluded: { material: count('excluded_material'), genetic: count('excluded_genetic'), notAvailable: count('not_available'), unknown: count('unknown') },
        registerVersion: Number(decided.register_version),
        snapshot: decided.snapshot,
        requestedSha256: listed.sha256,
      }

      const [stored] = await select<{ created_at: Date }>(
        `insert into eligibility_checks (id, project_id, staff_user_id, api_client_id, source, criteria, purpose,
                                         requested_count, duplicate_count, eligible_count, excluded_material_count, excluded_genetic_count,
                                         not_available_count, unknown_count, register_version, snapshot, requested_sha256)
         values (:id, :projectId, :staffUserId, :apiClientId, :source, :criteria, :purpose,
                 :requested, :duplicates, :eligible, :material, :genetic, :notAvailable, :unknown, :registerVersion, :snapshot, :sha256)
         returning created_at`,
        {
          id: checkId,
          projectId: project.id,
          staffUserId: requester.kind === 'staff' ? requester.user.staffUserId : null,
          apiClientId: requester.kind === 'apiClient' ? requester.client.id : null,
          source: request.source,
          criteria: summary.criteria ? JSON.stringify(summary.criteria) : null,
          purpose: project.purpose,
          requested: summary.requested,
          duplicates: summary.duplicates,
          eligible: summary.eligible,
          material: summary.excluded.material,
          genetic: summary.excluded.genetic,
          notAvailable: summary.excluded.notAvailable,
          unknown: summary.excluded.unknown,
          registerVersion: summary.registerVersion,
          snapshot: summary.snapshot,
          sha256: summary.requestedSha256,
        },
        transaction,
      )
      summary.createdAt = stored!.created_at
      await audit.record(
        {
          actor: { kind: 'staff', staffUserId: requester.kind === 'staff' ? requester.user.staffUserId : requester.client.issuedByStaffId },
          action: 'eligibility.check',
          details: {
            checkId,
            projectId: summary.project.id,
            requested: summary.requested,
            eligible: summary.eligible,
            ...(requester.kind === 'apiClient' ? { apiClientId: requester.client.id } : {}),
          },
          requestId: request.requestId ?? null,
        },
        transaction,
      )
      return summary
    })
    indexChecks()
    return summary
  }

  // The citizen's log finds a check through eligibility_check_samples (GIN by sample id), written here after the
  // check has committed, so the check does not wait for a million index entries; until then the log reads the
  // check's chunks directly. One run at a time, and once more if checks committed meanwhile; each run indexes
  // every check not indexed yet (one statement, so a check is indexed whole or not at all), so a run that failed
  // (the process stopping) is made up for by the next one.
  let indexing: Promise<void> | null = null
  let indexAgain = false
  function indexChecks(): Promise<void> {
    if (indexing) {
      indexAgain = true
      return indexing
    }
    indexing = (async () => {
      do {
        indexAgain = false
        await database.pool.query(
          longQuery(`insert into eligibility_check_samples (check_id, chunk, sample_ids)
                     select k.check_id, k.chunk, k.sample_ids
                       from eligibility_checks c join eligibility_check_chunks k on k.check_id = c.id
                      where not exists (select from eligibility_check_samples i where i.check_id = c.id)
                     on conflict do nothing`),
        )
        // The new entries went to the GIN index's pending list, which every search reads: merged now.
        await database.pool.query(longQuery('select clean_check_index()'))
      } while (indexAgain)
    })()
      .catch((error: unknown) => logger.warn({ err: error }, 'checks could not be indexed for the citizen\'s log; the next check will'))
      .finally(() => {
        indexing = null
      })
    return indexing
  }

  /** A stored check the requester may see, or null (unknown id, or another biobank's check). */
  async function storedCheck(requester: Requester, checkId: string): Promise<CheckRow | null> {
    if (!UUID.test(checkId)) return null
    const [row] = await select<CheckRow>(`${CHECK_SELECT} where c.id = :checkId`, { checkId })
    if (!row) return null
    // 403 for a user who may not release at all; another biobank's check is answered like one that does not exist
    // (ids are not secrets, but their existence elsewhere is none of this biobank's business).
    if (requester.kind === 'staff') {
      if (releasingBiobank(requester.user) !== row.biobank_id) return null
    } else if (requester.client.biobankId !== row.biobank_id) return null
    return row
  }

  return {
    /**
     * Indexes every stored check not indexed yet for the citizen's log, and resolves when no indexing runs (the
     * service does this by itself after each check; for tests and benchmarks).
     */
    indexChecks,

    /** Resolves once the indexing that runs, if any, has ended: a graceful stop awaits it before closing the pool. */
    indexingDone(): Promise<void> {
      return indexing ?? Promise.resolve()
    },

    /** Registers a research project in the admin's biobank; `referenceTaken` when the reference is in use there. */
    async createProject(user: StaffSessionUser, input: ProjectInput, requestId?: string): Promise<{ project: Project } | { error: 'referenceTaken' }> {
      const biobankId = releasingBiobank(user)
      return sequelize.transaction(async (transaction) => {
        const [row] = await select<{ id: number }>(
          `insert into research_projects (biobank_id, title, reference, approval_id, purpose, duo_code, created_by_staff_id)
           values (:biobankId, :title, :reference, :approvalId, :purpose, :duoCode, :staffUserId)
           on conflict (biobank_id, reference) do nothing returning id`,
          { biobankId, ...input, duoCode: input.duoCode ?? null, staffUserId: user.staffUserId },
          transaction,
        )
        if (!row) return { error: 'referenceTaken' as const }
        await audit.record(
          { actor: { kind: 'staff', staffUserId: user.staffUserId }, action: 'research.project.create', details: { projectId: Number(row.id), reference: input.reference }, requestId },
          transaction,
        )
        return { project: toProject((await projectRow(row.id, transaction))!) }
      })
    },

    /** The projects of the admin's biobank, newest first, with how many checks each has had. */
    async listProjects(user: StaffSessionUser): Promise<Project[]> {
      const biobankId = releasingBiobank(user)
      const rows = await select<ProjectRow>(
        `select ${PROJECT_COLUMNS}, count(c.id)::int as check_count, max(c.created_at) as last_check_at
           from research_projects p join staff_users u on u.id = p.created_by_staff_id
           left join eligibility_checks c on c.project_id = p.id
          where p.biobank_id = :biobankId
          group by p.id, u.name
          order by p.created_at desc, p.id desc`,
        { biobankId },
      )
      return rows.map(toProject)
    },

    /** One project with its checks (newest first); null when there is no such project or it is another biobank's. */
    async project(user: StaffSessionUser, projectId: number): Promise<{ project: Project; checks: CheckSummary[] } | null> {
      releasingBiobank(user)
      if (!Number.isSafeInteger(projectId) || projectId < 1) return null
      const row = await projectRow(projectId)
      if (!row) return null
      // As for checks: another biobank's project is answered like one that does not exist.
      if (releasingBiobank(user) !== row.biobank_id) return null
      const checks = await select<CheckRow>(`${CHECK_SELECT} where c.project_id = :projectId order by c.created_at desc, c.id`, { projectId })
      return { project: toProject({ ...row, check_count: checks.length, last_check_at: checks[0]?.created_at ?? null }), checks: checks.map(toSummary) }
    },

    /**
     * Checks a list of labels for a project and stores the answer. Throws LabelError / TooManyLabelsError for a
     * refused list (nothing stored), ProjectNotFoundError for a project not in the requester's biobank.
     */
    async checkLabels(requester: Requester, project: ProjectRef | (() => ProjectRef), labels: LabelSource, options: { source: CheckSource; requestId?: string }): Promise<CheckSummary> {
      return runCheck({ requester, project, source: options.source, labels: { kind: 'list', labels }, requestId: options.requestId })
    },

    /** Checks every sample of the admin's biobank matching search criteria (found in the check's own snapshot). */
    async checkSearch(user: StaffSessionUser, projectId: number, criteria: SampleCriteria, requestId?: string): Promise<CheckSummary> {
      const biobankId = releasingBiobank(user)
      if (criteria.biobank !== undefined) {
        const [own] = await select<{ code: string }>('select code from biobanks where id = :biobankId', { biobankId })
        if (criteria.biobank !== own?.code) throw new CriteriaBiobankError(`criteria name biobank ${criteria.biobank}`)
      }
      const { donorId: _ignored, biobank: _biobank, ...stored } = criteria
      return runCheck({ requester: { kind: 'staff', user }, project: projectId, source: 'search', labels: { kind: 'search', criteria: stored }, requestId })
    },

    /** A stored check as it was answered (never recomputed); null for an unknown id or another biobank's check. */
    async check(requester: Requester, checkId: string): Promise<CheckSummary | null> {
      const row = await storedCheck(requester, checkId)
      return row ? toSummary(row) : null
    },

    /**
     * The eligible labels of a stored check, in the order asked, as a stream of strings (one label each), read
     * with COPY from the stored items; null when the requester may not see the check.
     */
    async eligibleLabels(requester: Requester, checkId: string): Promise<{ summary: CheckSummary; labels(): AsyncGenerator<string[]> } | null> {
      const row = await storedCheck(requester, checkId)
      if (!row) return null
      return {
        summary: toSummary(row),
        async *labels() {
          if (row.eligible_count === 0) return
          const client = await database.pool.connect()
          let completed = false
          try {
            // The check's chunks are found by their primary key, unpacked (the eligibility_check_items view) and
            // sorted here: memory for sorting a million labels, for this read only.
            await client.query("begin read only; set local work_mem = '128MB'")
            const stream = client.query(
              copyTo(`copy (select label from eligibility_check_items where check_id = '${row.id}' and outcome = 'eligible' order by position) to stdout`),
            )
            let rest = ''
            for await (const chunk of stream as AsyncIterable<Buffer>) {
              const text = rest + chunk.toString('utf8')
              const end = text.lastIndexOf('\n')
              rest = text.slice(end + 1)
              // An eligible label is a sample's label ([A-Za-z0-9._-]), so COPY's text format needs no unescaping.
              if (end >= 0) yield text.slice(0, end).split('\n')
            }
            if (rest !== '') yield [rest]
            await client.query('commit')
            completed = true
          } finally {
            // A reader that stopped early (a client gone mid-download) leaves the COPY running: close that
            // connection rather than hand it back to the pool busy.
            client.release(completed ? undefined : new Error('eligible labels not read to the end'))
          }
        },
      }
    },
  }
}

export type EligibilityService = ReturnType<typeof createEligibilityService>
