// After the load: is everything the client was told still there? Every opt-out receipt the soak saw must have its
// opt_out_events row (same donor, choice and value) and its audit event; every soak citizen's choices must be those
// of their last receipt; the rows added must be the receipts (no change without a receipt, no second row for a
// repeated form); every file the job page called imported must have all its rows, and a failed file none.
import type pg from 'pg'
import type { OptOutCitizen, SeenReceipt } from './flows.ts'
import { labelsOf, type ImportFile } from './imports.ts'

export interface Watermarks {
  optOutEventId: number
  auditEventId: number
}

/** The highest ids before the load: what the soak adds is above them. */
export async function watermarks(pool: pg.Pool): Promise<Watermarks> {
  const { rows } = await pool.query<{ o: string | null; a: string | null }>(
    'select (select max(id) from opt_out_events) as o, (select max(id) from audit_events) as a',
  )
  return { optOutEventId: Number(rows[0]!.o ?? 0), auditEventId: Number(rows[0]!.a ?? 0) }
}

export interface OptOutCheck {
  receiptsSeen: number
  /** References seen more than once for different changes (must be 0). */
  duplicateReferences: number
  /** Receipts whose row is there with the same donor, choice and value. */
  stored: number
  /** Receipts without their row (or with a row of another donor, choice or value). */
  missingRows: number
  /** Receipts with their `optout.change` audit event. */
  audited: number
  missingAudit: number
  /** opt_out_events rows added for the soak's citizens since the start, and in all. */
  rowsAdded: number
  rowsAddedAll: number
  /** Rows of the soak's citizens with no receipt seen (a change request without an answer may explain some). */
  rowsWithoutReceipt: number
  /** Citizens still in play whose choices in opt_outs differ from their last receipt. */
  citizensChecked: number
  finalStateMismatches: number
  /** Citizens left out after an unclear answer (their state is unknown; not checked). */
  citizensRetired: number
  /** Receipts lost: without their row, without their audit event, or a citizen's last receipt not in force. */
  lost: number
  examples: string[]
}

export async function checkOptOuts(pool: pg.Pool, marks: Watermarks, receipts: SeenReceipt[], citizens: OptOutCitizen[]): Promise<OptOutCheck> {
  const examples: string[] = []
  const byReference = new Map<string, SeenReceipt>()
  let duplicateReferences = 0
  for (const r of receipts) {
    if (byReference.has(r.reference)) duplicateReferences += 1
    else byReference.set(r.reference, r)
  }
  const references = [...byReference.keys()]
  const donorIds = citizens.map((c) => c.donorId)

  const { rows: stored } = await pool.query<{ receipt_reference: string; donor_id: string; choice: string; opted_out: boolean }>(
    'select receipt_reference, donor_id, choice, opted_out from opt_out_events where id > $1 and receipt_reference = any($2::text[])',
    [marks.optOutEventId, references],
  )
  const storedRight = new Set<string>()
  for (const row of stored) {
    const seen = byReference.get(row.receipt_reference)!
    if (Number(row.donor_id) === seen.donorId && row.choice === seen.choice && row.opted_out === seen.optedOut) storedRight.add(row.receipt_reference)
    else if (examples.length < 10) examples.push(`receipt ${row.receipt_reference}: stored for another donor, choice or value`)
  }
  for (const reference of references) if (!storedRight.has(reference) && examples.length < 10) examples.push(`receipt ${reference}: no row`)

  const { rows: audited } = await pool.query<{ reference: string }>(
    `select distinct details->>'receipt' as reference from audit_events
     where id > $1 and action = 'optout.change' and details->>'receipt' = any($2::text[])`,
    [marks.auditEventId, references],
  )
  const auditedSet = new Set(audited.map((r) => r.reference))
  for (const reference of references) if (!auditedSet.has(reference) && examples.length < 10) examples.push(`receipt ${reference}: no audit event`)

  const { rows: added } = await pool.query<{ mine: number; all: number }>(
    'select count(*) filter (where donor_id = any($2::bigint[]))::int as mine, count(*)::int as all from opt_out_events where id > $1',
    [marks.optOutEventId, donorIds],
  )

  // The last receipt of each citizen is what opt_outs must say (unseen changes would have made the confirmation
  // page refuse, which retires the citizen: only citizens whose every change was answered are compared).
  const inPlay = citizens.filter((c) => !c.retired)
  const { rows: states } = await pool.query<{ donor_id: string; material: boolean; genetic: boolean }>(
    'select donor_id, material, genetic from opt_outs where donor_id = any($1::bigint[])',
    [inPlay.map((c) => c.donorId)],
  )
  const state = new Map(states.map((s) => [Number(s.donor_id), s]))
  let finalStateMismatches = 0
  for (const c of inPlay) {
    const s = state.get(c.donorId) ?? { material: false, genetic: false }
    if (s.material !== c.material || s.genetic !== c.genetic) {
      finalStateMismatches += 1
      if (examples.length < 10) examples.push(`donor ${c.donorId}: choices in force differ from the last receipt`)
    }
  }

  const missingRows = references.length - storedRight.size
  const missingAudit = references.length - auditedSet.size
  const rowsAdded = Number(added[0]!.mine)
  return {
    receiptsSeen: receipts.length,
    duplicateReferences,
    stored: storedRight.size,
    missingRows,
    audited: auditedSet.size,
    missingAudit,
    rowsAdded,
    rowsAddedAll: Number(added[0]!.all),
    rowsWithoutReceipt: Math.max(0, rowsAdded - storedRight.size),
    citizensChecked: inPlay.length,
    finalStateMismatches,
    citizensRetired: citizens.length - inPlay.length,
    lost: missingRows + missingAudit + finalStateMismatches + duplicateReferences,
    examples,
  }
}

export interface ImportCheck {
  files: number
  imported: number
  failed: number
  rowsExpected: number
  rowsStored: number
  /** Rows of files the job page did not call imported (a file is all or nothing: must be 0). */
  rowsOfFailedFiles: number
  missingRows: number
}

export async function checkImports(pool: pg.Pool, biobankCode: string, files: ImportFile[]): Promise<ImportCheck> {
  const count = async (labels: string[]) => {
    if (labels.length === 0) return 0
    const { rows } = await pool.query<{ n: number }>(
      'select count(*)::int as n from samples where biobank_id = (select id from biobanks where code = $1) and label = any($2::text[])',
      [biobankCode, labels],
    )
    return Number(rows[0]!.n)
  }
  const imported = files.filter((f) => f.outcome === 'imported')
  const failed = files.filter((f) => f.outcome !== 'imported')
  const rowsExpected = imported.reduce((n, f) => n + f.rows, 0)
  const rowsStored = await count(imported.flatMap(labelsOf))
  return {
    files: files.length,
    imported: imported.length,
    failed: failed.length,
    rowsExpected,
    rowsStored,
    rowsOfFailedFiles: await count(failed.flatMap(labelsOf)),
    missingRows: rowsExpected - rowsStored,
  }
}
