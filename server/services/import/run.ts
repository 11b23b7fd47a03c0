// One import run: the file into the staging table, the rules, then (a real run without issues) one set-based insert
// of the new samples. All in one transaction on one connection, so nothing is written unless everything is.
import { randomUUID } from 'node:crypto'
import type pg from 'pg'
import type { Transaction } from 'sequelize'
import type { ServiceDeps } from '../serviceDeps.ts'
import type { AuditActor } from '../auditService.ts'
import { redactCprs } from '../../domain/cpr.ts'
import { IMPORT_COLUMNS, ImportFileError, fileIssue, isImportColumn, type ImportIssue } from './format.ts'
import { peekFile, stageFile, stagingTable } from './stage.ts'
import { ERRORS_TABLE, runRules, type IssueRow } from './rules.ts'
import { allowLongQueries } from '../../db/boundedClient.ts'

export type ImportPhase = 'queued' | 'waiting' | 'reading' | 'checking' | 'writing' | 'done'

export interface ImportProgress {
  phase: ImportPhase
  rowsRead: number
}

export interface RunOptions {
  path: string
  /** The name the user gave the file (shown and audited; CPR-shaped parts are redacted). */
  fileName: string
  biobankId: number
  biobankCode: string
  dryRun: boolean
  actor: AuditActor
  /** Audit details of who ran it beyond the actor (e.g. the command line). */
  via: 'web' | 'cli'
  requestId?: string
  /** How many issues to return at most (all are counted). */
  maxIssues: number
  onProgress?: (progress: ImportProgress) => void
}

export interface ImportResult {
  importId: string
  dryRun: boolean
  /** True when the samples were written (a real run without issues). */
  committed: boolean
  fileName: string
  biobankCode: string
  /** Data rows read (the header and empty lines not counted). */
  rows: number
  /** Rows that are (or, in a dry run, would be) new samples. */
  newSamples: number
  /** Rows whose sample is already registered with the same content: skipped. */
  existingSamples: number
  newDonors: number
  /** The first `maxIssues` issues, by row and column. */
  issues: ImportIssue[]
  issueCount: number
  /** Rows with at least one issue. */
  badRows: number
  milliseconds: number
}

/** Imports of one biobank wait for each other (two at once could both find a label free). */
const LOCK_NAMESPACE = 0x1b10_0001

const cleanFileName = (name: string) =>
  redactCprs(
    name
      .replace(/^.*[/\\]/, '')
      .replace(/\p{Cc}/gu, '')
      .slice(0, 200),
  ) || 'upload.csv'

/** Details shown to the user: short, and never a CPR number (a value typed into the wrong column could be one). */
const cleanDetail = (detail: string | null | undefined) => (detail == null ? null : redactCprs(detail).slice(0, 80))

export async function runImport(deps: ServiceDeps, options: RunOptions): Promise<ImportResult> {
  const started = Date.now()
  const importId = randomUUID()
  const fileName = cleanFileName(options.fileName)
  const progress = (phase: ImportPhase, rowsRead: number) => options.onProgress?.({ phase, rowsRead })
  const base = {
    importId,
    dryRun: options.dryRun,
    committed: false,
    fileName,
    biobankCode: options.biobankCode,
    rows: 0,
    newSamples: 0,
    existingSamples: 0,
    newDonors: 0,
    issues: [] as ImportIssue[],
    issueCount: 0,
    badRows: 0,
  }
  /** Each step's duration goes to the debug log (where an import spends its time). */
  const timed = async <T>(step: string, work: () => Promise<T>): Promise<T> => {
    const stepStarted = Date.now()
    try {
      return await work()
    } finally {
      deps.logger.debug({ importId, step, milliseconds: Date.now() - stepStarted }, 'import step')
    }
  }
  const finish = (result: typeof base): ImportResult => ({ ...result, milliseconds: Date.now() - started })

  const auditDetails = (result: typeof base, outcome: 'imported' | 'rejected' | 'checked') => ({
    importId,
    fileName,
    biobank: options.biobankCode,
    via: options.via,
    outcome,
    rows: result.rows,
    newSamples: result.newSamples,
    existingSamples: result.existingSamples,
    newDonors: result.newDonors,
    issues: result.issueCount,
    badRows: result.badRows,
  })
  const action = options.dryRun ? 'import.dry_run' : 'import.run'
  /** A run that writes nothing is audited on its own, after the rollback. */
  const auditUnwritten = async (result: typeof base) => {
    await deps.audit.record({
      actor: options.actor,
      action,
      details: auditDetails(result, result.issueCount > 0 ? 'rejected' : 'checked'),
      requestId: options.requestId,
    })
  }

  let delimiter: ',' | ';'
  try {
    delimiter = (await peekFile(options.path)).delimiter
  } catch (error) {
    if (!(error instanceof ImportFileError)) throw error
    const result = { ...base, issues: error.issues, issueCount: error.issues.length }
    await auditUnwritten(result)
    return finish(result)
  }

  const { sequelize } = deps.database
  const transaction = await sequelize.transaction()
  const client = (transaction as unknown as { connection: pg.ClientBase }).connection
  // A large file's statements (COPY, the rules, the insert) legitimately take minutes: the bulk limit, not the web's.
  allowLongQueries(client)
  let open = true
  const rollback = async () => {
    if (!open) return
    open = false
    await transaction.rollback()
  }
  try {
    // Dates without an offset are Danish time; joins over the whole file get room to hash in memory.
    await client.query(`set local timezone = 'Europe/Copenhagen'; set local work_mem = '128MB'`)
    if (!options.dryRun) {
      progress('waiting', 0)
      await client.query('select pg_advisory_xact_lock($1, $2)', [LOCK_NAMESPACE, options.biobankId])
    }
    progress('reading', 0)
    const sequence = options.dryRun ? null : (await client.query<{ name: string }>(`select pg_get_serial_sequence('samples', 'id') as name`)).rows[0]!.name
    await client.query(`${stagingTable(sequence)}; ${ERRORS_TABLE}`)
    let rows: number
    try {
      rows = await timed('stage', () => stageFile({
        client,
        path: options.path,
        delimiter,
        cpr: deps.cpr,
        now: new Date(),
        onRows: (read) => progress('reading', read),
      }))
    } catch (error) {
      if (!(error instanceof ImportFileError)) throw error
      await rollback()
      const result = { ...base, issues: error.issues, issueCount: error.issues.length }
      await auditUnwritten(result)
      return finish(result)
    }

    progress('checking', rows)
    await timed('analyze', () => client.query('analyze import_rows (sample_label, parent_label, storage_location, cpr_hmac)'))
    const issueCount = await runRules(client, options.biobankId, (rule, milliseconds) => deps.logger.debug({ importId, rule, milliseconds }, 'import rule'))
    const counts = await client.query<{ fresh: number; existing: number }>(
      `select count(*) filter (where s.id is null)::int as fresh, count(s.id)::int as existing
       from import_rows r left join samples s on s.biobank_id = $1 and s.label = r.sample_label`,
      [options.biobankId],
    )
    const result = { ...base, rows, newSamples: counts.rows[0]!.fresh, existingSamples: counts.rows[0]!.existing, issueCount }
    if (issueCount > 0) {
      const issues = await client.query<IssueRow>(
        `select row_no, col, code, detail from import_errors
         order by row_no nulls first, array_position($1::text[], col) nulls first, code limit $2`,
        [IMPORT_COLUMNS, options.maxIssues],
      )
      const bad = await client.query<{ count: number }>('select count(distinct row_no)::int as count from import_errors')
      result.badRows = bad.rows[0]!.count
      result.issues = issues.rows.map((issue) => ({
        row: issue.row_no,
        column: issue.col !== null && isImportColumn(issue.col) ? issue.col : null,
        code: issue.code,
        detail: cleanDetail(issue.detail),
      }))
    }
    if (issueCount > 0 || options.dryRun) {
      await rollback()
      await auditUnwritten(result)
      return finish(result)
    }

    progress('writing', rows)
    result.newDonors = await timed('write', () => writeSamples(client, options.biobankId, importId, options.actor, result.newSamples))
    await deps.audit.record(
      { actor: options.actor, action, details: auditDetails(result, 'imported'), requestId: options.requestId },
      transaction as Transaction,
    )
    open = false
    await timed('commit', () => transaction.commit())
    progress('done', rows)
    return finish({ ...result, committed: true })
  } catch (error) {
    await rollback().catch(() => undefined)
    // Someone registered a clashing label or position while the file was being read: nothing was written.
    if ((error as { code?: string; parent?: { code?: string } }).code === '23505' || (error as { parent?: { code?: string } }).parent?.code === '23505') {
      const result = { ...base, issues: [fileIssue('file.conflict')], issueCount: 1 }
      await auditUnwritten(result)
      return finish(result)
    }
    throw error
  }
}

/**
 * Whether the insert may skip the per-row foreign-key triggers and check the references set-based instead (as the
 * bulk seeder does): only as a superuser, and only while the tables have no insert triggers of their own (which
 * replica mode would skip too).
 */
async function mayCheckKeysSetBased(client: pg.ClientBase): Promise<boolean> {
  const { rows } = await client.query<{ superuser: boolean; triggers: number }>(
    `select current_setting('is_superuser') = 'on' as superuser,
            (select count(*)::int from pg_trigger where not tgisinternal and (tgtype & 4) <> 0
               and tgrelid in ('samples'::regclass, 'sample_events'::regclass)) as triggers`,
  )
  return rows[0]!.superuser && rows[0]!.triggers === 0
}

/** New donors and samples (one "received" event each), set-based; returns how many donors were new. */
async function writeSamples(client: pg.ClientBase, biobankId: number, importId: string, actor: AuditActor, expected: number): Promise<number> {
  // Insert-or-find by HMAC: the first row of each donor in the file carries the ciphertext.
  const donors = await client.query(
    `insert into donors (cpr_hmac, cpr_encrypted, birth_date)
     select distinct on (r.cpr_hmac) r.cpr_hmac, r.cpr_encrypted, r.birth_date
     from import_rows r where r.cpr_encrypted is not null
     order by r.cpr_hmac
     on conflict (cpr_hmac) do nothing`,
  )
  const setBased = await mayCheckKeysSetBased(client)
  if (setBased) await client.query('set local session_replication_role = replica')
  // Rows drew their ids when they were copied in, so a parent new in this file (pf) is known by its id already;
  // a parent registered before is ps. Lineage: same material as the parent is an aliquot, else a derivative.
  const { rows } = await client.query<{ inserted: number; first_id: string | null }>(
    `with inserted as (
       insert into samples (id, biobank_id, label, donor_id, material_type, collected_at, storage_temperature, lineage, parent_id,
                            quantity, quantity_unit, storage_location, sprec, diagnosis, availability)
       select r.id, $1, r.sample_label, d.id, r.material_type, r.collected_at, r.storage_temperature,
              case when r.parent_label is null then 'primary'
                   when coalesce(ps.material_type, pf.material_type) = r.material_type then 'aliquot'
                   else 'derivative' end,
              coalesce(ps.id, pf.id),
              r.quantity, r.quantity_unit, r.storage_location, r.sprec, r.diagnosis, r.availability
       from import_rows r
       join donors d on d.cpr_hmac = r.cpr_hmac
       left join samples ps on r.parent_label is not null and ps.biobank_id = $1 and ps.label = r.parent_label
       left join import_rows pf on r.parent_label is not null and pf.sample_label = r.parent_label
       where not exists (select from samples s where s.biobank_id = $1 and s.label = r.sample_label)
       returning id
     ), events as (
       insert into sample_events (sample_id, event_type, occurred_at, details, staff_user_id)
       select id, 'received', now(), $2::jsonb, $3 from inserted
       returning sample_id
     )
     select count(*)::int as inserted, min(sample_id) as first_id from events`,
    [biobankId, JSON.stringify({ source: 'import', importId }), actor.kind === 'staff' ? actor.staffUserId : null],
  )
  const { inserted, first_id: firstId } = rows[0]!
  if (inserted !== expected) throw new Error(`import wrote ${inserted} of ${expected} samples; nothing was stored`)
  if (setBased) {
    await client.query('set local session_replication_role = origin')
    // What the skipped triggers would have checked: donors and biobank come from joins and the session, and
    // sample ids from the insert itself, so the parent (same donor) and the acting staff user remain.
    const { rows: broken } = await client.query<{ parents: number; staff: number }>(
      `select (select count(*)::int from samples c
               where c.id >= $2 and c.biobank_id = $1 and c.parent_id is not null
                 and not exists (select from samples p where p.id = c.parent_id and p.donor_id = c.donor_id)) as parents,
              (select count(*)::int from (select $3::bigint as id) a
               where a.id is not null and not exists (select from staff_users u where u.id = a.id)) as staff`,
      [biobankId, firstId ?? '0', actor.kind === 'staff' ? actor.staffUserId : null],
    )
    if (broken[0]!.parents > 0 || broken[0]!.staff > 0) throw new Error(`import would break foreign keys (${JSON.stringify(broken[0])}); nothing was stored`)
  }
  return donors.rowCount ?? 0
}
