// Printable label sheets with a barcode of each sample label.
//
// Rules:
// - labels are printed by the registrar or admin of the sample's biobank ('register'); the auditor prints none;
// - every requested sample must exist and be the user's to label: one unknown or foreign id refuses the whole
//   sheet (nothing is silently dropped), and nothing is printed or audited;
// - at most MAX_LABELS_PER_SHEET labels at a time;
// - a label shows the sample label (and its barcode), material type, collection date and biobank: never a CPR
//   number or a name. Printing is an access to sample data, so each printed sample is audited.
import bwipjs from 'bwip-js'
import { QueryTypes } from 'sequelize'
import type { ServiceDeps } from './serviceDeps.ts'
import type { StaffSessionUser } from './authService.ts'
import { assertStaffMay, staffMay } from './authorization.ts'
import type { MaterialType } from '../domain/vocabulary.ts'

/**
 * The most labels on one request. The form parser accepts at most 200 fields per request
 * (server/setUpWebRequestParsing.ts), so this stays below that with room for the form's other fields.
 */
export const MAX_LABELS_PER_SHEET = 150

/** A Code 128 symbol wider than this many modules would print too narrow bars on a label; DataMatrix is used instead. */
export const MAX_CODE128_MODULES = 220

const SAMPLE_LABEL = /^[A-Za-z0-9._-]{1,64}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface Barcode {
  symbology: 'code128' | 'datamatrix'
  /** Inline SVG markup, built from bwip-js output that was checked to hold nothing but paths. */
  svg: string
}

export interface SampleLabel {
  publicId: string
  label: string
  materialType: MaterialType
  /** The collection date in Danish time, YYYY-MM-DD. */
  collectedOn: string
  biobankCode: string
  biobankName: string
  barcode: Barcode
}

export type LabelSheetResult =
  | { ok: true; labels: SampleLabel[] }
  /** No sample was chosen. */
  | { ok: false; reason: 'none' }
  | { ok: false; reason: 'tooMany'; requested: number; max: number }
  /** The user's role prints no labels (the auditor). */
  | { ok: false; reason: 'role' }
  /** Some ids name no sample (and some may belong to another biobank as well). */
  | { ok: false; reason: 'unknown'; unknown: number; foreign: number }
  /** Every id names a sample, but some belong to a biobank the user may not label. */
  | { ok: false; reason: 'foreign'; foreign: number }

/** The SVG of `text` as a barcode, ready to inline: Code 128 when it prints wide enough, else DataMatrix. */
export function barcodeSvg(text: string): Barcode {
  // Label text is constrained by the database and checked again here, so the symbol encodes exactly this.
  if (!SAMPLE_LABEL.test(text)) throw new Error('a sample label holds only A-Z, a-z, 0-9, ".", "_" and "-"')
  const linear = bwipjs.toSVG({ bcid: 'code128', text, scale: 1, height: 10 })
  const { width } = parseSvg(linear)
  if (width <= MAX_CODE128_MODULES) return { symbology: 'code128', svg: inlineSvg(linear, 'code128') }
  return { symbology: 'datamatrix', svg: inlineSvg(bwipjs.toSVG({ bcid: 'datamatrix', text, scale: 1 }), 'datamatrix') }
}

/** The viewBox and the elements of a bwip-js SVG, refused unless it is the plain shape bwip-js produces. */
function parseSvg(svg: string): { width: number; height: number; body: string } {
  const match = /^<svg viewBox="0 0 (\d+(?:\.\d+)?) (\d+(?:\.\d+)?)" xmlns="http:\/\/www\.w3\.org\/2000\/svg">\n?([\s\S]*)<\/svg>\s*$/.exec(svg)
  const body = match?.[3] ?? ''
  // Only <path> elements whose attributes are numbers, colours and path data: nothing that could run or load.
  const onlyPaths = /^(?:\s*<path(?: (?:d|stroke|stroke-width|fill|fill-rule)="[#A-Za-z0-9 .,-]*")+ ?\/>)*\s*$/.test(body)
  if (!match || !onlyPaths) throw new Error('unexpected barcode SVG from bwip-js')
  return { width: Number(match[1]), height: Number(match[2]), body }
}

function inlineSvg(svg: string, symbology: Barcode['symbology']): string {
  const { width, height, body } = parseSvg(svg)
  // The label text is printed beside the symbol, so the picture is hidden from assistive technology.
  // A linear symbol may stretch to the label's width (every bar scales alike); a DataMatrix keeps its square shape.
  const aspect = symbology === 'code128' ? ' preserveAspectRatio="none"' : ''
  return `<svg class="label-barcode label-barcode--${symbology}" viewBox="0 0 ${width} ${height}"${aspect} xmlns="http://www.w3.org/2000/svg" aria-hidden="true" focusable="false">${body.trim().replace(/>\s+</g, '><')}</svg>`
}

interface SampleRow {
  id: string
  publicId: string
  label: string
  materialType: MaterialType
  collectedOn: string
  biobankId: number
  donorId: string
  biobankCode: string
  biobankName: string
}

export function createLabelService(deps: ServiceDeps) {
  const { database, audit } = deps

  return {
    /**
     * The labels of the chosen samples (public ids, in the order chosen, repeats once), or why none are printed.
     * Every printed sample is audited ('sample.label_print') in the same transaction that read it.
     */
    async labelSheet(user: StaffSessionUser, publicIds: readonly string[], requestId?: string): Promise<LabelSheetResult> {
      const ids = [...new Set(publicIds.map((id) => id.trim().toLowerCase()).filter((id) => id !== ''))]
      if (ids.length === 0) return { ok: false, reason: 'none' }
      if (ids.length > MAX_LABELS_PER_SHEET) return { ok: false, reason: 'tooMany', requested: ids.length, max: MAX_LABELS_PER_SHEET }
      if (user.biobankId === null || !staffMay(user, 'register', user.biobankId)) return { ok: false, reason: 'role' }

      const wellFormed = ids.filter((id) => UUID.test(id))
      return database.sequelize.transaction(async (transaction): Promise<LabelSheetResult> => {
        const found =
          wellFormed.length === 0
            ? []
            : await database.sequelize.query<SampleRow>(
                `select s.id, s.public_id as "publicId", s.label, s.material_type as "materialType",
                        to_char(s.collected_at at time zone 'Europe/Copenhagen', 'YYYY-MM-DD') as "collectedOn",
                        s.biobank_id as "biobankId", s.donor_id as "donorId", b.code as "biobankCode", b.name as "biobankName"
                   from samples s join biobanks b on b.id = s.biobank_id
                  where s.public_id in (:ids)`,
                { replacements: { ids: wellFormed }, type: QueryTypes.SELECT, transaction },
              )
        const unknown = ids.length - found.length
        const foreign = found.filter((row) => !staffMay(user, 'register', row.biobankId)).length
        if (unknown > 0) return { ok: false, reason: 'unknown', unknown, foreign }
        if (foreign > 0) return { ok: false, reason: 'foreign', foreign }
        // Decided above; asserted again per biobank so a mistake above cannot print another biobank's samples.
        for (const biobankId of new Set(found.map((row) => row.biobankId))) assertStaffMay(user, 'register', biobankId)
        // Built before anything is recorded, so a sheet that cannot be drawn leaves no trace of being printed.
        const byId = new Map(found.map((row) => [row.publicId.toLowerCase(), row]))
        const labels: SampleLabel[] = ids.map((id) => {
          const row = byId.get(id)!
          return {
            publicId: row.publicId,
            label: row.label,
            materialType: row.materialType,
            collectedOn: row.collectedOn,
            biobankCode: row.biobankCode,
            biobankName: row.biobankName,
            barcode: barcodeSvg(row.label),
          }
        })
        for (const row of found) {
          await audit.record(
            {
              actor: { kind: 'staff', staffUserId: user.staffUserId },
              action: 'sample.label_print',
              sampleId: Number(row.id),
              subjectDonorId: Number(row.donorId),
              details: { label: row.label, sheetSize: found.length },
              requestId,
            },
            transaction,
          )
        }
        return { ok: true, labels }
      })
    },
  }
}

export type LabelService = ReturnType<typeof createLabelService>
