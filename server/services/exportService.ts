// Exports of a search result or a whole biobank: MIABIS-aligned CSV and FHIR R4 Specimen bundles, streamed.
//
// Only a biobank admin exports, and only their own biobank. The export is streamed from the database in keyset
// batches (BATCH_SIZE rows, by label within the biobank, which the unique (biobank_id, label) index serves), so
// neither the server nor the database ever holds the whole result, and no connection is held while the client
// is slow to read: each batch borrows a pooled connection for one query.
//
// Audit: one event per export (`export.csv` / `export.fhir`), written in its own transaction BEFORE the first
// byte is sent, because a stream's true row count is known only at its end and audit events are append-only.
// The event records the criteria, the number of matching rows at that moment, and the highest sample id then;
// the stream is bounded by that id, so samples registered during a long download are not in it. A download the
// client abandons, or that fails midway, is still audited as started: the audit says who asked for what.
import crypto from 'node:crypto'
import { Readable } from 'node:stream'
import { QueryTypes } from 'sequelize'
import { allowLongQueries, longQuery } from '../db/boundedClient.ts'
import type { ServiceDeps } from './serviceDeps.ts'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay, ForbiddenError } from './authorization.ts'
import type { SampleCriteria } from '../domain/sampleCriteria.ts'
import { bundleStream, specimenResource, type FhirSpecimen } from '../domain/fhir.ts'
import {
  findEntry,
  materialTypes,
  storageTemperatures,
  type Availability,
  type Lineage,
  type MaterialType,
  type QuantityUnit,
  type StorageTemperature,
} from '../domain/vocabulary.ts'

export type ExportFormat = 'csv' | 'fhir'

export const BATCH_SIZE = 5000

/** The CSV columns, MIABIS-aligned for the BBMRI-ERIC Directory. No CPR number, ever. */
export const CSV_COLUMNS = [
  'sample_id',
  'sample_label',
  'biobank_code',
  'donor_pseudonym',
  'material_type',
  'collected_at',
  'storage_temperature',
  'lineage',
  'parent_sample_id',
  'parent_label',
  'quantity',
  'quantity_unit',
  'availability',
  'sprec',
  'diagnosis',
] as const

// ---------------------------------------------------------------------------------------------------------------
// CSV cells (RFC 4180). csv-stringify is not installed; this is the whole of what the export needs.

/** A leading = + - @ tab or CR makes a spreadsheet read the cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = /^[=+\-@\t\r]/

/**
 * One CSV cell: neutralised against formula injection by a leading apostrophe (OWASP), then quoted when it holds
 * a comma, a double quote or a line break, with quotes doubled (RFC 4180). null and undefined are empty cells.
 */
export function csvCell(value: string | null | undefined): string {
  let text = value ?? ''
  if (FORMULA_START.test(text)) text = `'${text}`
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}

/** One CSV record, CRLF-terminated (RFC 4180). */
export function csvRow(values: readonly (string | null | undefined)[]): string {
  return `${values.map(csvCell).join(',')}\r\n`
}

// ---------------------------------------------------------------------------------------------------------------
// Rows

interface ExportRow {
  public_id: string
  label: string
  biobank_code: string
  donor_id: string
  material_type: MaterialType
  collected_at: Date
  storage_temperature: StorageTemperature
  lineage: Lineage
  parent_public_id: string | null
  parent_label: string | null
  quantity: string | null
  quantity_unit: QuantityUnit | null
  availability: Availability
  sprec: string | null
  diagnosis: string | null
}

/**
 * SQL conditions on `samples s` for the criteria, with $n parameters appended to `params`.
 * label: a prefix (RH-2024-000123 finds the sample and its aliquots RH-2024-000123-A1, ...); dates: whole days
 * in Danish time, both ends included.
 */
function criteriaConditions(biobankId: number, criteria: SampleCriteria, params: unknown[]): string[] {
  const add = (value: unknown) => `$${params.push(value)}`
  const conditions = [`s.biobank_id = ${add(biobankId)}`]
  if (criteria.label !== undefined) conditions.push(`s.label like ${add(`${criteria.label.replace(/[\\%_]/g, (c) => `\\${c}`)}%`)}`)
  if (criteria.materialType !== undefined) conditions.push(`s.material_type = ${add(criteria.materialType)}`)
  if (criteria.availability !== undefined) conditions.push(`s.availability = ${add(criteria.availability)}`)
  if (criteria.collectedFrom !== undefined) conditions.push(`s.collected_at >= (${add(criteria.collectedFrom)}::date)::timestamp at time zone 'Europe/Copenhagen'`)
  if (criteria.collectedTo !== undefined) conditions.push(`s.collected_at < (${add(criteria.collectedTo)}::date + 1)::timestamp at time zone 'Europe/Copenhagen'`)
  if (criteria.donorId !== undefined) conditions.push(`s.donor_id = ${add(criteria.donorId)}`)
  return conditions
}

export interface SampleExport {
  format: ExportFormat
  filename: string
  contentType: string
  biobankCode: string
  /** Rows matching when the export started (the stream holds these, unless one changed meanwhile). */
  rowCount: number
  /** The file's bytes, read from the database batch by batch as the reader consumes them. */
  stream(): Readable
}

export function createExportService(deps: ServiceDeps) {
  const { database, audit, config } = deps

  // A donor pseudonym per biobank: stable while the key is, not reversible without it, and different in each
  // biobank's export so two biobanks' files cannot be joined on it. The key is derived from (never equal to) the
  // CPR HMAC key, so the pseudonyms reveal nothing about the CPR hashes.
  const pseudonymKey = crypto.createHmac('sha256', config.secrets.cprHmacKey).update('biobank-registry/export/donor-pseudonym/v1').digest()
  const donorPseudonym = (biobankCode: string, donorId: string) =>
    crypto.createHmac('sha256', pseudonymKey).update(`${biobankCode}:${donorId}`).digest('hex').slice(0, 20)

  async function* batches(biobankId: number, criteria: SampleCriteria, maxId: string): AsyncGenerator<ExportRow[]> {
    let after: string | undefined
    for (;;) {
      const params: unknown[] = []
      const conditions = criteriaConditions(biobankId, criteria, params)
      conditions.push(`s.id <= $${params.push(maxId)}`)
      if (after !== undefined) conditions.push(`s.label > $${params.push(after)}`)
      // Each batch is short with an index, but criteria without one scan: the bulk limit, not the web's.
      const { rows } = await database.pool.query<ExportRow>(longQuery(
        `select s.public_id, s.label, b.code as biobank_code, s.donor_id, s.material_type, s.collected_at,
                s.storage_temperature, s.lineage, p.public_id as parent_public_id, p.label as parent_label,
                s.quantity::text as quantity, s.quantity_unit, s.availability, s.sprec, s.diagnosis
           from samples s
           join biobanks b on b.id = s.biobank_id
           left join samples p on p.id = s.parent_id
          where ${conditions.join(' and ')}
          order by s.label
          limit ${BATCH_SIZE}`,
        params,
      ))
      if (rows.length > 0) yield rows
      if (rows.length < BATCH_SIZE) return
      after = rows[rows.length - 1]!.label
    }
  }

  function csvRecord(row: ExportRow): string {
    return csvRow([
      row.public_id,
      row.label,
      row.biobank_code,
      donorPseudonym(row.biobank_code, row.donor_id),
      findEntry(materialTypes, row.material_type)?.miabis ?? row.material_type,
      row.collected_at.toISOString(),
      findEntry(storageTemperatures, row.storage_temperature)?.miabis ?? row.storage_temperature,
      row.lineage,
      row.parent_public_id,
      row.parent_label,
      row.quantity,
      row.quantity_unit,
      row.availability,
      row.sprec,
      row.diagnosis,
    ])
  }

  function specimen(row: ExportRow): FhirSpecimen {
    return specimenResource({
      publicId: row.public_id,
      label: row.label,
      biobankCode: row.biobank_code,
      materialType: row.material_type,
      collectedAt: row.collected_at,
      storageTemperature: row.storage_temperature,
      parentPublicId: row.parent_public_id,
      quantity: row.quantity,
      quantityUnit: row.quantity_unit,
      availability: row.availability,
      // The donor as the same pseudonym the CSV has; no Patient resource is exported.
      subject: { reference: `Patient/${donorPseudonym(row.biobank_code, row.donor_id)}` },
    })
  }

  async function* csvChunks(biobankId: number, criteria: SampleCriteria, maxId: string | null): AsyncGenerator<string> {
    // The byte order mark lets Excel read the file as UTF-8 (°, −, æøå).
    yield `\uFEFF${csvRow(CSV_COLUMNS)}`
    if (maxId === null) return
    for await (const rows of batches(biobankId, criteria, maxId)) yield rows.map(csvRecord).join('')
  }

  async function* specimens(biobankId: number, criteria: SampleCriteria, maxId: string | null): AsyncGenerator<FhirSpecimen> {
    if (maxId === null) return
    for await (const rows of batches(biobankId, criteria, maxId)) for (const row of rows) yield specimen(row)
  }

  return {
    /**
     * Checks that `user` may export the biobank (the criteria's biobank, else the user's own), audits the export
     * and returns it ready to stream. Throws ForbiddenError (403) for anyone but that biobank's admin.
     */
    async openExport(user: StaffSessionUser, format: ExportFormat, criteria: SampleCriteria, requestId?: string): Promise<SampleExport> {
      const biobank = criteria.biobank !== undefined ? await database.models.Biobank.findOne({ where: { code: criteria.biobank } }) : user.biobankId !== null ? await database.models.Biobank.findByPk(user.biobankId) : null
      if (!biobank) throw new ForbiddenError('no biobank to export')
      assertStaffMay(user, 'export', biobank.id)

      const { rowCount, maxId } = await database.sequelize.transaction(async (transaction) => {
        allowLongQueries(transaction)
        const params: unknown[] = []
        const conditions = criteriaConditions(biobank.id, criteria, params)
        const [counted] = await database.sequelize.query<{ count: string; max_id: string | null }>(
          `select count(*) as count, max(s.id) as max_id from samples s where ${conditions.join(' and ')}`,
          { bind: params, transaction, type: QueryTypes.SELECT },
        )
        const found = { rowCount: Number(counted!.count), maxId: counted!.max_id }
        await audit.record(
          {
            actor: { kind: 'staff', staffUserId: user.staffUserId },
            action: format === 'csv' ? 'export.csv' : 'export.fhir',
            subjectDonorId: criteria.donorId ?? null,
            details: { biobank: biobank.code, criteria: { ...criteria }, rowCount: found.rowCount, upToSampleId: found.maxId },
            requestId,
          },
          transaction,
        )
        return found
      })

      const day = new Date().toISOString().slice(0, 10)
      const base = `samples-${biobank.code}-${day}`
      return {
        format,
        biobankCode: biobank.code,
        rowCount,
        filename: format === 'csv' ? `${base}.csv` : `${base}.fhir.json`,
        contentType: format === 'csv' ? 'text/csv; charset=utf-8; header=present' : 'application/fhir+json; charset=utf-8',
        stream: () =>
          format === 'csv'
            ? Readable.from(csvChunks(biobank.id, criteria, maxId), { objectMode: false })
            : bundleStream(specimens(biobank.id, criteria, maxId), 'collection', { timestamp: new Date() }),
      }
    },
  }
}

export type ExportService = ReturnType<typeof createExportService>
