// Shared by the import fault tests (the fast one here, the million-row one in test/faults/): a CSV file in the
// import format of DOMAIN.md with fictitious donors, the import command line (server/cli/import.ts) as a child
// process, and what the database holds of a file.
import fs from 'node:fs'
import path from 'node:path'
import { once } from 'node:events'
import pg from 'pg'
import { projectRoot } from '../../../server/config.ts'
import { cprFor } from '../../../seeders/fictitiousCpr.ts'
import { childEnvironment, spawnApp, type AppProcess } from '../../support/serverProcess.ts'

export const IMPORT_CLI = 'server/cli/import.ts'

/** The fault tests are written for the import command line; without it they fail (never skip) and say why. */
export function assertImportCliExists(): void {
  if (!fs.existsSync(path.join(projectRoot, IMPORT_CLI))) {
    throw new Error(`${IMPORT_CLI} does not exist in this checkout: merge the CSV import before running the import fault tests`)
  }
}

export const CSV_HEADER =
  'sample_label,donor_cpr,material_type,collected_at,storage_temperature,parent_label,quantity,quantity_unit,storage_location,sprec,diagnosis,availability'

export interface ImportFile {
  path: string
  rows: number
  /** Every label of the file starts with this. */
  labelPrefix: string
  /** The donors' CPR numbers (10 digits), one per distinct donor. */
  cprs: Set<string>
}

const DAY_MS = 86_400_000
const FIRST_BIRTH = Date.UTC(1930, 0, 1)
const SAMPLES_PER_DONOR = 4

/**
 * A donor's CPR number: born from 1930 on, 7th digit 3 (1900s), which neither the demo citizens nor the further demo
 * donors use, so every donor of the file is new to a database holding the demo data.
 */
function donorCpr(donor: number): string {
  return cprFor(new Date(FIRST_BIRTH + Math.floor(donor / 1000) * DAY_MS), 3000 + (donor % 1000))
}

/**
 * Writes `rows` valid rows: four samples per donor (whole blood; plasma derived from it; an aliquot of that plasma;
 * DNA from the blood), parents always earlier in the file, CPR numbers with and without the dash.
 */
export async function writeImportFile(file: string, rows: number, labelPrefix: string): Promise<ImportFile> {
  fs.mkdirSync(path.dirname(file), { recursive: true })
  const out = fs.createWriteStream(file)
  const cprs = new Set<string>()
  out.write(`${CSV_HEADER}\n`)
  let chunk = ''
  for (let i = 0; i < rows; i++) {
    const donor = Math.floor(i / SAMPLES_PER_DONOR)
    const first = donor * SAMPLES_PER_DONOR
    const label = (n: number) => `${labelPrefix}${String(n).padStart(7, '0')}`
    const cpr = donorCpr(donor)
    cprs.add(cpr)
    const written = donor % 2 === 0 ? cpr : `${cpr.slice(0, 6)}-${cpr.slice(6)}`
    const collected = `20${String(10 + (donor % 14)).padStart(2, '0')}-${String(1 + (donor % 12)).padStart(2, '0')}-${String(1 + (donor % 28)).padStart(2, '0')}`
    switch (i - first) {
      case 0:
        chunk += `${label(i)},${written},whole-blood,${collected},2to10,,4,mL,,,,\n`
        break
      case 1:
        chunk += `${label(i)},${written},plasma,${collected},-60to-85,${label(first)},1.5,mL,,,,\n`
        break
      case 2:
        chunk += `${label(i)},${written},plasma,${collected},-60to-85,${label(first + 1)},0.5,mL,,,,\n`
        break
      default:
        chunk += `${label(i)},${written},dna,${collected},-18to-35,${label(first)},25,ug,,,,\n`
    }
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain')
      chunk = ''
    }
  }
  out.end(chunk)
  await once(out, 'finish')
  return { path: file, rows, labelPrefix, cprs }
}

/** Starts `node --import tsx server/cli/import.ts --biobank RH <file>` on `databaseUrl`. */
export function startImport(databaseUrl: string, file: string): AppProcess {
  assertImportCliExists()
  return spawnApp(IMPORT_CLI, ['--biobank', 'RH', file], childEnvironment({ DATABASE_URL: databaseUrl }))
}

export interface Counts {
  samples: number
  donors: number
  sampleEvents: number
  /** Samples of RH whose label belongs to the file. */
  ofFile: number
}

export async function countsOf(databaseUrl: string, file: ImportFile): Promise<Counts> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'fault-tests' })
  await client.connect()
  try {
    const { rows } = await client.query<Counts>(
      `select (select count(*)::int from samples) as samples, (select count(*)::int from donors) as donors,
              (select count(*)::int from sample_events) as "sampleEvents",
              (select count(*)::int from samples s join biobanks b on b.id = s.biobank_id
                where b.code = 'RH' and starts_with(s.label, $1)) as "ofFile"`,
      [file.labelPrefix],
    )
    return rows[0]!
  } finally {
    await client.end()
  }
}

/** CPR numbers of the file that appear in `text` (with or without the dash). */
export function cprsIn(text: string, file: ImportFile): string[] {
  return [...text.matchAll(/(?<!\d)(\d{6})-?(\d{4})(?!\d)/g)].map((m) => `${m[1]}${m[2]}`).filter((cpr) => file.cprs.has(cpr))
}

/** Everything the import printed, shortened for an assertion message. */
export function tail(text: string, max = 3000): string {
  return text.length > max ? `…${text.slice(-max)}` : text
}
