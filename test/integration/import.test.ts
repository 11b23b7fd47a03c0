// The staff CSV import on a real database and through the real app: every reason a file is rejected (with nothing
// written), a large generated file, idempotent re-imports, who may import, and the web pages (upload, CSRF, size
// limit, background job with progress, result).
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, capturedLogLines, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import { bulkDonorCpr } from '../../seeders/fictitiousCpr.ts'
import { IMPORT_COLUMNS, type ImportColumn } from '../../server/services/import/format.ts'
import { ForbiddenError } from '../../server/services/authorization.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'
import type { ImportResult } from '../../server/services/importService.ts'
import { writeImportCsv } from '../../bench/importScenario.ts'

type Row = Record<ImportColumn, string>

describe('staff CSV import', function () {
  this.timeout(120_000)

  let app: TestApp
  let stine: StaffSessionUser // registrar, RH
  let henrik: StaffSessionUser // biobank admin, RH
  let rikke: StaffSessionUser // auditor
  let folder: string

  let fileNo = 0
  let labelNo = 0
  let positionNo = 0
  let donorNo = 0

  /** A CPR number no one in the database has yet (fictitious, bulk range), written with a dash. */
  const newCpr = () => {
    const { cpr } = bulkDonorCpr(30_000_000 + ++donorNo * 7)
    return `${cpr.slice(0, 6)}-${cpr.slice(6)}`
  }
  const anne = demoCitizen('anne').cpr
  const bo = demoCitizen('bo').cpr

  /** A valid row with a fresh label and position; `values` overrides columns. */
  const row = (values: Partial<Row> = {}): Row => ({
    sample_label: `IT-${++labelNo}`,
    donor_cpr: anne,
    material_type: 'whole-blood',
    collected_at: '2025-06-01T09:30',
    storage_temperature: '-60to-85',
    parent_label: '',
    quantity: '4.5',
    quantity_unit: 'mL',
    storage_location: `ITEST/R1/B1/P${++positionNo}`,
    sprec: '',
    diagnosis: '',
    availability: '',
    ...values,
  })

  const csv = (rows: Row[], delimiter = ',') => `${IMPORT_COLUMNS.join(delimiter)}\n${rows.map((r) => IMPORT_COLUMNS.map((c) => r[c]).join(delimiter)).join('\n')}\n`

  const file = (content: string | Buffer) => {
    const name = path.join(folder, `file-${++fileNo}.csv`)
    fs.writeFileSync(name, content)
    return name
  }

  const importRows = (rows: Row[] | string | Buffer, options: { dryRun?: boolean; user?: StaffSessionUser; biobankCode?: string } = {}) =>
    app.services.imports.importFile(options.user ?? stine, {
      path: file(Array.isArray(rows) ? csv(rows) : rows),
      fileName: 'prøver.csv',
      dryRun: options.dryRun ?? false,
      biobankCode: options.biobankCode,
    })

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  const counts = async () =>
    (await select<{ samples: number; donors: number; events: number }>(
      'select (select count(*)::int from samples) as samples, (select count(*)::int from donors) as donors, (select count(*)::int from sample_events) as events',
    ))[0]!

  /** The one issue of a rejected result, as row/column/code. */
  const issuesOf = (result: ImportResult) => result.issues.map((issue) => ({ row: issue.row, column: issue.column, code: issue.code }))

  /** Runs `rows` for real and expects it rejected with exactly `expected` issues and nothing written. */
  async function expectRejected(rows: Row[] | string | Buffer, expected: { row: number | null; column: ImportColumn | null; code: string }[]) {
    const before = await counts()
    const result = await importRows(rows)
    expect(result.committed, 'committed').to.equal(false)
    expect(issuesOf(result)).to.deep.equal(expected)
    expect(await counts(), 'nothing written').to.deep.equal(before)
    return result
  }

  const rhSample = async () =>
    (await select<{ label: string; storage_location: string }>(
      `select s.label, s.storage_location from samples s join biobanks b on b.id = s.biobank_id
       where b.code = 'RH' and s.storage_location is not null and s.availability in ('available', 'reserved') order by s.id limit 1`,
    ))[0]!

  before(async () => {
    folder = fs.mkdtempSync(path.join(os.tmpdir(), 'import-test-'))
    app = await startTestApp()
    const signIn = async (sub: string, name: string, role: string, biobank?: string) => {
      const result = await app.services.auth.signInStaff({ sub, name, role, ...(biobank ? { biobank } : {}) }, 'https://test.invalid/staff')
      if (!('user' in result)) throw new Error(`could not sign in ${sub}`)
      return result.user
    }
    stine = await signIn('stine-service', 'Stine Sørensen', 'registrar', 'RH')
    henrik = await signIn('henrik-service', 'Henrik Holm', 'biobank_admin', 'RH')
    rikke = await signIn('rikke-service', 'Rikke Revisor', 'auditor')
  })

  after(async () => {
    await app?.services.imports.idle()
    await app?.close()
    if (folder) fs.rmSync(folder, { recursive: true, force: true })
  })

  describe('a valid file', () => {
    it('imports new samples and donors, resolving parents earlier in the file as aliquot or derivative', async () => {
      const cpr = newCpr()
      const parent = row({ donor_cpr: cpr, diagnosis: 'DC509', sprec: 'bld-ped-a-n-n-n-d' })
      const aliquot = row({ donor_cpr: cpr.replace('-', ''), parent_label: parent.sample_label, quantity: '"1,250"' })
      const derivative = row({ donor_cpr: cpr, parent_label: parent.sample_label, material_type: 'dna', quantity: '20', quantity_unit: 'ug', collected_at: '2025-06-01' })
      const before = await counts()
      const result = await importRows([parent, aliquot, derivative])
      expect(result).to.include({ committed: true, rows: 3, newSamples: 3, existingSamples: 0, newDonors: 1, issueCount: 0 })
      expect(await counts()).to.deep.equal({ samples: before.samples + 3, donors: before.donors + 1, events: before.events + 3 })

      const stored = await select<{ label: string; lineage: string; parent: string | null; quantity: string; diagnosis: string | null; sprec: string | null; collected: string }>(
        `select s.label, s.lineage, p.label as parent, s.quantity::text as quantity, s.diagnosis, s.sprec,
                to_char(s.collected_at at time zone 'Europe/Copenhagen', 'YYYY-MM-DD HH24:MI') as collected
         from samples s left join samples p on p.id = s.parent_id where s.label in (:labels) order by s.id`,
        { labels: [parent.sample_label, aliquot.sample_label, derivative.sample_label] },
      )
      expect(stored.map((s) => [s.label, s.lineage, s.parent])).to.deep.equal([
        [parent.sample_label, 'primary', null],
        [aliquot.sample_label, 'aliquot', parent.sample_label],
        [derivative.sample_label, 'derivative', parent.sample_label],
      ])
      // Diagnosis normalised to ICD-10, SPREC upper case, a decimal comma read, times in Danish time.
      expect(stored[0]).to.include({ diagnosis: 'C50.9', sprec: 'BLD-PED-A-N-N-N-D', collected: '2025-06-01 09:30' })
      expect(stored[1]!.quantity).to.equal('1.250')
      expect(stored[2]!.collected).to.equal('2025-06-01 00:00')

      // The donor is stored as HMAC and ciphertext only; the ciphertext decrypts to the CPR number.
      const [donor] = await select<{ cpr_encrypted: Buffer; birth_date: string }>('select cpr_encrypted, birth_date::text from donors where cpr_hmac = :hmac', {
        hmac: app.services.cpr.hash(cpr),
      })
      expect(app.services.cpr.decrypt(donor!.cpr_encrypted)).to.equal(cpr.replace('-', ''))
      const events = await select<{ event_type: string; staff_user_id: number }>(
        `select e.event_type, e.staff_user_id::int from sample_events e join samples s on s.id = e.sample_id where s.label = :label`,
        { label: aliquot.sample_label },
      )
      expect(events).to.deep.equal([{ event_type: 'received', staff_user_id: stine.staffUserId }])
    })

    it('finds an existing donor by CPR and takes a parent already registered in the biobank', async () => {
      const parent = row({ donor_cpr: anne })
      await importRows([parent])
      const before = await counts()
      const child = row({ donor_cpr: `${anne.slice(0, 6)}-${anne.slice(6)}`, parent_label: parent.sample_label, material_type: 'plasma' })
      const result = await importRows([child])
      expect(result).to.include({ committed: true, newSamples: 1, newDonors: 0 })
      expect((await counts()).donors).to.equal(before.donors)
      const [stored] = await select<{ lineage: string; parent: string }>(
        'select s.lineage, p.label as parent from samples s join samples p on p.id = s.parent_id where s.label = :label',
        { label: child.sample_label },
      )
      expect(stored).to.deep.equal({ lineage: 'derivative', parent: parent.sample_label })
    })

    it('reads semicolons, quoted fields, CRLF line ends, a byte-order mark and blank lines', async () => {
      const a = row({ donor_cpr: newCpr() })
      const b = row({ donor_cpr: a.donor_cpr, parent_label: a.sample_label })
      const quoted = [a, b].map((r) => IMPORT_COLUMNS.map((c) => (c === 'sample_label' || c === 'donor_cpr' ? `"${r[c]}"` : r[c])).join(';'))
      const content = `\uFEFF${IMPORT_COLUMNS.join(';')}\r\n${quoted[0]}\r\n\r\n;;;;;;;;;;;\r\n${quoted[1]}\r\n`
      const result = await importRows(content)
      expect(result).to.include({ committed: true, rows: 2, newSamples: 2 })
    })

    it('accepts the columns in another order', async () => {
      const r = row({ donor_cpr: newCpr() })
      const columns = [...IMPORT_COLUMNS].reverse()
      const result = await importRows(`${columns.join(',')}\n${columns.map((c) => r[c]).join(',')}\n`)
      expect(result).to.include({ committed: true, newSamples: 1 })
    })

    it('skips rows already registered with the same content: importing a file twice adds nothing', async () => {
      const rows = [row({ donor_cpr: newCpr() }), row(), row({ availability: 'reserved', sprec: 'SER-SST-A-D-N-A-D', diagnosis: 'C50.9' })]
      rows.push(row({ donor_cpr: rows[0]!.donor_cpr, parent_label: rows[0]!.sample_label }))
      const content = csv(rows)
      expect(await importRows(content)).to.include({ committed: true, newSamples: 4, existingSamples: 0 })
      const before = await counts()
      const again = await importRows(content)
      expect(again).to.include({ committed: true, newSamples: 0, existingSamples: 4, newDonors: 0, issueCount: 0 })
      expect(await counts()).to.deep.equal(before)
      // A file with old and new rows adds only the new.
      const more = await importRows(`${content}${IMPORT_COLUMNS.map((c) => row()[c]).join(',')}\n`)
      expect(more).to.include({ committed: true, newSamples: 1, existingSamples: 4 })
    })

    it('imports a generated file of 10,000 rows, and a second import of it adds nothing', async () => {
      const name = path.join(folder, 'generated.csv')
      const generated = await writeImportCsv(name, { rows: 10_000, runId: 'ITEST', donorBase: 31_000_000 })
      const before = await counts()
      const first = await app.services.imports.importFile(henrik, { path: name, fileName: 'generated.csv', dryRun: false })
      expect(first).to.include({ committed: true, rows: 10_000, newSamples: 10_000, existingSamples: 0, newDonors: generated.donors, issueCount: 0 })
      const after = await counts()
      expect(after).to.deep.equal({ samples: before.samples + 10_000, donors: before.donors + generated.donors, events: before.events + 10_000 })
      const [lineage] = await select<{ children: number; wrong: number }>(
        `select count(c.parent_id)::int as children,
                count(*) filter (where c.parent_id is not null and (p.donor_id <> c.donor_id or (c.lineage = 'aliquot') <> (c.material_type = p.material_type)))::int as wrong
         from samples c left join samples p on p.id = c.parent_id where c.label like 'IMP-ITEST-%'`,
      )
      expect(lineage).to.deep.equal({ children: generated.children, wrong: 0 })

      const second = await app.services.imports.importFile(henrik, { path: name, fileName: 'generated.csv', dryRun: false })
      expect(second).to.include({ committed: true, newSamples: 0, existingSamples: 10_000, newDonors: 0 })
      expect(await counts()).to.deep.equal(after)
    })

    it('checks without writing on a dry run, and audits every run once with its counts and file name', async () => {
      const rows = [row({ donor_cpr: newCpr() }), row()]
      const before = await counts()
      const dry = await importRows(rows, { dryRun: true })
      expect(dry).to.include({ dryRun: true, committed: false, newSamples: 2, issueCount: 0 })
      expect(await counts()).to.deep.equal(before)
      const real = await importRows(rows)
      const audits = await select<{ action: string; actor_staff_id: string; details: Record<string, unknown> }>(
        `select action, actor_staff_id, details from audit_events where details->>'importId' in (:ids) order by id`,
        { ids: [dry.importId, real.importId] },
      )
      expect(audits.map((a) => a.action)).to.deep.equal(['import.dry_run', 'import.run'])
      expect(audits[0]!.details).to.include({ fileName: 'prøver.csv', outcome: 'checked', rows: 2, newSamples: 2, biobank: 'RH' })
      expect(audits[1]!.details).to.include({ fileName: 'prøver.csv', outcome: 'imported', rows: 2, newSamples: 2, newDonors: 1 })
      expect(Number(audits[1]!.actor_staff_id)).to.equal(stine.staffUserId)
    })
  })

  describe('rejections (the whole file, nothing written)', () => {
    it('refuses a wrong header', async () => {
      const r = row()
      await expectRejected(`sample_label,donor_cpr,material,collected_at\n${r.sample_label},${r.donor_cpr},whole-blood,2025-01-01\n`, [
        { row: null, column: null, code: 'file.header_unknown' },
        ...['storage_temperature', 'parent_label', 'quantity', 'quantity_unit', 'storage_location', 'sprec', 'diagnosis', 'availability', 'material_type'].map(() => ({
          row: null,
          column: null,
          code: 'file.header_missing',
        })),
      ])
      // A file without a header at all is told so once.
      const result = await expectRejected(`${IMPORT_COLUMNS.map((c) => r[c]).join(',')}\n`, [{ row: null, column: null, code: 'file.header_none' }])
      expect(JSON.stringify(result)).not.to.contain(anne)
    })

    it('refuses an unknown material type', async () => {
      const result = await expectRejected([row(), row({ material_type: 'blood' })], [{ row: 3, column: 'material_type', code: 'material.unknown' }])
      expect(result.issues[0]!.detail).to.equal('blood')
    })

    it('refuses a bad CPR number, without ever repeating it', async () => {
      const result = await expectRejected(
        [row({ donor_cpr: '150372-451' }), row({ donor_cpr: '3102724518' }), row({ donor_cpr: '' })],
        [
          { row: 2, column: 'donor_cpr', code: 'cpr.format' },
          { row: 3, column: 'donor_cpr', code: 'cpr.date' },
          { row: 4, column: 'donor_cpr', code: 'cpr.empty' },
        ],
      )
      // A CPR number typed into another column is not shown back either.
      const swapped = await expectRejected([row({ material_type: anne })], [{ row: 2, column: 'material_type', code: 'material.unknown' }])
      expect(JSON.stringify([result, swapped])).not.to.contain(anne).and.not.to.contain('3102724518')
    })

    it('refuses a date in the future, before the donor was born, or not ISO 8601', async () => {
      const tomorrow = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10)
      await expectRejected(
        [row({ collected_at: tomorrow }), row({ collected_at: '1970-01-01' }), row({ collected_at: '01-06-2025' }), row({ collected_at: '2025-02-30' }), row({ collected_at: 'today' })],
        [
          { row: 2, column: 'collected_at', code: 'date.future' },
          { row: 3, column: 'collected_at', code: 'date.before_birth' },
          { row: 4, column: 'collected_at', code: 'date.format' },
          { row: 5, column: 'collected_at', code: 'date.format' },
          { row: 6, column: 'collected_at', code: 'date.format' },
        ],
      )
    })

    it('refuses a label twice in the file, naming the first row', async () => {
      const first = row()
      const result = await expectRejected([first, row(), row({ sample_label: first.sample_label })], [{ row: 4, column: 'sample_label', code: 'label.duplicate' }])
      expect(result.issues[0]!.detail).to.equal('2')
    })

    it('refuses a label already registered with different content, naming the columns that differ', async () => {
      const original = row()
      await importRows([original])
      const result = await expectRejected([{ ...original, material_type: 'serum', quantity: '5' }], [{ row: 2, column: 'sample_label', code: 'label.exists_different' }])
      expect(result.issues[0]!.detail).to.equal('material_type, quantity')
      // An existing demo sample of RH under its own label, as if new: another donor.
      const demo = await rhSample()
      const clash = await expectRejected([row({ sample_label: demo.label, donor_cpr: newCpr() })], [{ row: 2, column: 'sample_label', code: 'label.exists_different' }])
      expect(clash.issues[0]!.detail).to.contain('donor_cpr')
    })

    it('refuses a parent of another donor, in the biobank or in the file', async () => {
      const annes = row({ donor_cpr: anne })
      await importRows([annes])
      const inFile = row({ donor_cpr: anne })
      await expectRejected(
        [row({ donor_cpr: bo, parent_label: annes.sample_label }), inFile, row({ donor_cpr: bo, parent_label: inFile.sample_label })],
        [
          { row: 2, column: 'parent_label', code: 'parent.other_donor' },
          { row: 4, column: 'parent_label', code: 'parent.other_donor' },
        ],
      )
    })

    it('refuses a missing parent, one that comes later in the file, and a sample that is its own parent', async () => {
      const later = row()
      const self = row()
      self.parent_label = self.sample_label
      const result = await expectRejected(
        [row({ parent_label: 'NO-SUCH-SAMPLE' }), row({ parent_label: later.sample_label }), later, self, row({ parent_label: 'bad label!' })],
        [
          { row: 2, column: 'parent_label', code: 'parent.missing' },
          { row: 3, column: 'parent_label', code: 'parent.later' },
          { row: 5, column: 'parent_label', code: 'parent.self' },
          { row: 6, column: 'parent_label', code: 'parent.format' },
        ],
      )
      expect(result.issues[1]!.detail).to.equal('4')
      // A parent in another biobank is not found either.
      const [rm] = await select<{ label: string }>(`select s.label from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RM' limit 1`)
      await expectRejected([row({ parent_label: rm!.label })], [{ row: 2, column: 'parent_label', code: 'parent.missing' }])
    })

    it('refuses a file that is not UTF-8, naming the line', async () => {
      const good = csv([row(), row()])
      const latin1 = Buffer.concat([Buffer.from(good, 'utf8'), Buffer.from(`${IMPORT_COLUMNS.map((c) => row({ sample_label: 'X', material_type: 'whole-blood' })[c]).join(',')}\n`, 'utf8'), Buffer.from([0x52, 0xe6, 0x76, 0x0a])])
      const result = await expectRejected(latin1, [{ row: null, column: null, code: 'file.encoding' }])
      expect(result.issues[0]!.detail).to.equal('5')
    })

    it('refuses a file that turns out not to be UTF-8 far into it, after thousands of good rows', async () => {
      const rows = Array.from({ length: 3_000 }, () => row())
      const content = Buffer.concat([Buffer.from(csv(rows), 'utf8'), Buffer.from([0x52, 0xf8, 0x76, 0x0a])])
      expect(content.length).to.be.greaterThan(200_000)
      const result = await expectRejected(content, [{ row: null, column: null, code: 'file.encoding' }])
      expect(result.issues[0]!.detail).to.equal('3002')
    })

    it('refuses an empty file, and a file with only the header', async () => {
      await expectRejected('', [{ row: null, column: null, code: 'file.empty' }])
      await expectRejected('\uFEFF\n  \n', [{ row: null, column: null, code: 'file.empty' }])
      await expectRejected(`${IMPORT_COLUMNS.join(',')}\n`, [{ row: null, column: null, code: 'file.no_rows' }])
    })

    it('refuses broken quoting, and a row with too few or too many fields', async () => {
      await expectRejected(`${IMPORT_COLUMNS.join(',')}\n${IMPORT_COLUMNS.map((c) => row()[c]).join(',')}\n"unclosed,${'x,'.repeat(11)}\n`, [{ row: null, column: null, code: 'file.csv' }])
      const r = row()
      await expectRejected(
        `${IMPORT_COLUMNS.join(',')}\n${IMPORT_COLUMNS.slice(0, 11).map((c) => r[c]).join(',')}\n${IMPORT_COLUMNS.map((c) => row()[c]).join(',')},extra\n`,
        [
          { row: 2, column: null, code: 'row.fields' },
          { row: 3, column: null, code: 'row.fields' },
        ],
      )
    })

    it('refuses a bad storage temperature and a missing one', async () => {
      await expectRejected(
        [row({ storage_temperature: '-80' }), row({ storage_temperature: '' })],
        [
          { row: 2, column: 'storage_temperature', code: 'temperature.unknown' },
          { row: 3, column: 'storage_temperature', code: 'required' },
        ],
      )
    })

    it('refuses quantities and units that break the rules', async () => {
      await expectRejected(
        [
          row({ quantity: 'lots' }),
          row({ quantity: '0' }),
          row({ quantity: '1.2345' }),
          row({ quantity: '123456789012' }),
          row({ quantity: '5', quantity_unit: '' }),
          row({ quantity: '', quantity_unit: 'mL' }),
          row({ quantity: '5', quantity_unit: 'ml' }),
        ],
        [
          { row: 2, column: 'quantity', code: 'quantity.format' },
          { row: 3, column: 'quantity', code: 'quantity.positive' },
          { row: 4, column: 'quantity', code: 'quantity.decimals' },
          { row: 5, column: 'quantity', code: 'quantity.too_large' },
          { row: 6, column: 'quantity_unit', code: 'unit.required' },
          { row: 7, column: 'quantity', code: 'quantity.required' },
          { row: 8, column: 'quantity_unit', code: 'unit.unknown' },
        ],
      )
    })

    it('refuses a storage position that is taken in the biobank or used twice in the file, or badly written', async () => {
      const demo = await rhSample()
      const twice = row()
      await expectRejected(
        [row({ storage_location: demo.storage_location }), twice, row({ storage_location: twice.storage_location }), row({ storage_location: 'F1/R2/B3' })],
        [
          { row: 2, column: 'storage_location', code: 'location.taken' },
          { row: 4, column: 'storage_location', code: 'location.duplicate' },
          { row: 5, column: 'storage_location', code: 'location.format' },
        ],
      )
      // A sample that no longer holds its place (destroyed) may share it.
      expect(await importRows([row({ storage_location: demo.storage_location, availability: 'destroyed' })])).to.include({ committed: true })
    })

    it('refuses a bad SPREC code, a bad diagnosis and an unknown availability', async () => {
      await expectRejected(
        [row({ sprec: 'SER-SST-A' }), row({ sprec: 'QQQ-SST-A-D-N-A-D' }), row({ diagnosis: 'cancer' }), row({ availability: 'gone' })],
        [
          { row: 2, column: 'sprec', code: 'sprec.format' },
          { row: 3, column: 'sprec', code: 'sprec.sample_type' },
          { row: 4, column: 'diagnosis', code: 'diagnosis.format' },
          { row: 5, column: 'availability', code: 'availability.unknown' },
        ],
      )
    })

    it('lists every bad row of a file, and one bad row keeps the good ones out too', async () => {
      const rows = [row(), row({ material_type: 'x' }), row(), row({ quantity: '-1', storage_temperature: 'cold' }), row()]
      const result = await expectRejected(rows, [
        { row: 3, column: 'material_type', code: 'material.unknown' },
        { row: 5, column: 'storage_temperature', code: 'temperature.unknown' },
        { row: 5, column: 'quantity', code: 'quantity.format' },
      ])
      expect(result).to.include({ issueCount: 3, badRows: 2, rows: 5, newSamples: 5 })
      const [stored] = await select<{ count: number }>('select count(*)::int as count from samples where label in (:labels)', { labels: rows.map((r) => r.sample_label) })
      expect(stored!.count).to.equal(0)
    })

  })

  describe('who may import', () => {
    it('refuses a registrar of RH importing into RM, and the auditor, in the service', async () => {
      const before = await counts()
      let refused: unknown
      try {
        await importRows([row()], { biobankCode: 'RM' })
      } catch (error) {
        refused = error
      }
      expect(refused).to.be.instanceOf(ForbiddenError)
      for (const dryRun of [true, false]) {
        let auditor: unknown
        try {
          await importRows([row()], { user: rikke, dryRun })
        } catch (error) {
          auditor = error
        }
        expect(auditor).to.be.instanceOf(ForbiddenError)
      }
      expect(await counts()).to.deep.equal(before)
    })
  })

  describe('the web pages', () => {
    const uploadFolder = path.join(os.tmpdir(), 'biobank-registry-import')
    const agents: Record<string, Agent> = {}

    async function signedIn(userId: string): Promise<Agent> {
      if (!agents[userId]) {
        agents[userId] = newAgent()
        await login(agents[userId], app.baseUrl, 'staff', userId)
      }
      return agents[userId]
    }

    async function upload(agent: Agent, content: string | Buffer, mode: 'dry-run' | 'import', options: { token?: string | null; name?: string; lang?: string } = {}) {
      const page = await get(agent, `${app.baseUrl}/medarbejder/import${options.lang ? `?lang=${options.lang}` : ''}`)
      const token = options.token === undefined ? csrfTokenOf(page.text) : options.token
      let request = agent.post(`${app.baseUrl}/medarbejder/import`).redirects(0).ok(() => true)
      if (token !== null) request = request.field('_csrf', token)
      return request.field('mode', mode).attach('file', Buffer.from(content), options.name ?? 'prøver.csv')
    }

    /** Follows the job page until it stops refreshing itself; returns the final page. */
    async function finished(agent: Agent, location: string) {
      await app.services.imports.idle()
      const page = await get(agent, `${app.baseUrl}${location}`)
      expect(page.status).to.equal(200)
      expect(page.text).not.to.contain('http-equiv="refresh"')
      return page
    }

    const uploadsLeft = () => (fs.existsSync(uploadFolder) ? fs.readdirSync(uploadFolder) : [])

    it('shows the upload form with the template link, both buttons and a CSRF token', async () => {
      const agent = await signedIn('stine')
      const page = await get(agent, `${app.baseUrl}/medarbejder/import`)
      expect(page.status).to.equal(200)
      expect(page.text).to.contain('<h1>Importér prøver fra en CSV-fil</h1>')
      expect(page.text).to.contain('enctype="multipart/form-data"')
      expect(page.text).to.match(/name="mode" value="dry-run"/)
      expect(page.text).to.match(/name="mode" value="import"/)
      expect(page.text).to.contain('href="/medarbejder/import/skabelon.csv"')
      expect(page.text).to.contain('(RH)')
      csrfTokenOf(page.text)
    })

    it('serves the template: the header and one example row, which passes a dry run', async () => {
      const agent = await signedIn('stine')
      const template = await get(agent, `${app.baseUrl}/medarbejder/import/skabelon.csv`)
      expect(template.status).to.equal(200)
      expect(template.headers['content-type']).to.match(/^text\/csv/)
      expect(template.headers['content-disposition']).to.contain('attachment')
      const lines = template.text.trim().split(/\r?\n/)
      expect(lines).to.have.length(2)
      expect(lines[0]).to.equal(IMPORT_COLUMNS.join(','))
      const result = await importRows(template.text, { dryRun: true })
      expect(result).to.include({ issueCount: 0, newSamples: 1 })
    })

    it('runs a dry run in the background and shows every bad row with row, column and a Danish reason', async () => {
      const agent = await signedIn('stine')
      const before = await counts()
      const posted = await upload(agent, csv([row(), row({ material_type: 'blod' }), row({ donor_cpr: '999999-9999' })]), 'dry-run')
      expect(posted.status).to.equal(303)
      expect(posted.headers.location).to.match(/^\/medarbejder\/import\/[0-9a-f]{32}$/)
      const page = await finished(agent, posted.headers.location!)
      expect(page.text).to.contain('Prøvekørslen fandt fejl')
      expect(page.text).to.contain('<th scope="col">Række</th>')
      expect(page.text).to.match(/<td>3<\/td>\s*<td><code>material_type<\/code><\/td>\s*<td>»blod« er ikke en materialetype, vi kender/)
      expect(page.text).to.match(/<td>4<\/td>\s*<td><code>donor_cpr<\/code><\/td>\s*<td>De første 6 cifre i CPR-nummeret er ikke en gyldig dato/)
      expect(page.text).not.to.contain('999999')
      expect(page.text).to.contain('prøver.csv')
      expect(await counts()).to.deep.equal(before)
      expect(uploadsLeft(), 'the uploaded file is deleted').to.deep.equal([])
    })

    it('answers in English when the page language is English', async () => {
      const agent = newAgent()
      await login(agent, app.baseUrl, 'staff', 'henrik')
      const posted = await upload(agent, csv([row({ quantity: '0' })]), 'dry-run', { lang: 'en' })
      const page = await finished(agent, posted.headers.location!)
      expect(page.text).to.contain('The dry run found errors')
      expect(page.text).to.contain('The quantity must be greater than 0.')
    })

    it('imports for real: progress while it runs (refreshing itself, with an Opdatér link), then the result', async () => {
      const agent = await signedIn('stine')
      const rows = [row({ donor_cpr: newCpr() }), row()]
      const before = await counts()
      // Another import of RH holds the biobank's lock, so this one waits where we can see it.
      const { biobankId } = await app.services.imports.scopeOf(stine)
      const { host, port, database, username, password } = app.services.database.sequelize.config
      const blocker = new pg.Client({ host, port: Number(port), database, user: username, password: password ?? undefined })
      await blocker.connect()
      let location: string
      try {
        await blocker.query('select pg_advisory_lock($1, $2)', [0x1b10_0001, biobankId])
        const posted = await upload(agent, csv(rows), 'import')
        expect(posted.status).to.equal(303)
        location = posted.headers.location!
        let running = await get(agent, `${app.baseUrl}${location}`)
        for (let tries = 0; tries < 200 && !running.text.includes('Venter på, at en anden import'); tries++) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          running = await get(agent, `${app.baseUrl}${location}`)
        }
        expect(running.status).to.equal(200)
        expect(running.text).to.contain('<h1>Importen er i gang</h1>')
        expect(running.text).to.contain('Venter på, at en anden import i din biobank bliver færdig.')
        expect(running.text).to.contain('<meta http-equiv="refresh" content="2">')
        expect(running.text).to.contain(`href="${location}">Opdatér</a>`)
        expect(await counts()).to.deep.equal(before)
      } finally {
        await blocker.query('select pg_advisory_unlock_all()')
        await blocker.end()
      }
      const done = await finished(agent, location)
      expect(done.text).to.contain('<h1>Prøverne er importeret</h1>')
      expect(done.text).not.to.contain('Opdatér')
      expect((await counts()).samples).to.equal(before.samples + 2)
    })

    it('shows the result of a real import: new and already registered', async () => {
      const agent = await signedIn('stine')
      const content = csv([row({ donor_cpr: newCpr() }), row()])
      const first = await finished(agent, (await upload(agent, content, 'import')).headers.location!)
      expect(first.text).to.contain('<h1>Prøverne er importeret</h1>')
      expect(first.text).to.contain('2 nye prøver er gemt. 0 var allerede registreret')
      const second = await finished(agent, (await upload(agent, content, 'import')).headers.location!)
      expect(second.text).to.contain('0 nye prøver er gemt. 2 var allerede registreret')
    })

    it("keeps a job to its owner: another staff user gets 404, as does an unknown id", async () => {
      const agent = await signedIn('stine')
      const posted = await upload(agent, csv([row()]), 'dry-run')
      await finished(agent, posted.headers.location!)
      const other = await signedIn('henrik')
      expect((await get(other, `${app.baseUrl}${posted.headers.location}`)).status).to.equal(404)
      expect((await get(agent, `${app.baseUrl}/medarbejder/import/${'0'.repeat(32)}`)).status).to.equal(404)
      expect((await get(agent, `${app.baseUrl}/medarbejder/import/not-a-job`)).status).to.equal(404)
    })

    it('shows a job that failed for an unexpected reason as a friendly page, not a 500', async () => {
      const agent = await signedIn('stine')
      const [web] = await select<{ id: number; biobank_id: number }>(`select id::int, biobank_id from staff_users where name = 'Stine Sørensen' and issuer like :issuer`, {
        issuer: `${app.baseUrl}%`,
      })
      const owner: StaffSessionUser = { kind: 'staff', staffUserId: web!.id, name: 'Stine Sørensen', role: 'registrar', biobankId: web!.biobank_id, biobankCode: 'RH' }
      // The uploaded file has vanished before the job could read it.
      const job = await app.services.imports.startJob(owner, { path: path.join(folder, 'vanished.csv'), fileName: 'vanished.csv', dryRun: false })
      await app.services.imports.idle()
      const page = await get(agent, `${app.baseUrl}/medarbejder/import/${job.id}`)
      expect(page.status).to.equal(200)
      expect(page.text).to.contain('<h1>Importen mislykkedes</h1>')
      expect(page.text).to.contain('Intet er gemt')
    })

    it('asks for a file when none was chosen', async () => {
      const agent = await signedIn('stine')
      const page = await get(agent, `${app.baseUrl}/medarbejder/import`)
      const response = await agent.post(`${app.baseUrl}/medarbejder/import`).redirects(0).ok(() => true).field('_csrf', csrfTokenOf(page.text)).field('mode', 'import')
      expect(response.status).to.equal(400)
      expect(response.text).to.contain('Vælg den CSV-fil, du vil importere.')
      expect(response.text).to.contain('href="#import-file"')
      expect(response.text).to.contain('aria-describedby="import-file-hint import-file-error"')
    })

    it('refuses an upload without the CSRF token or with a wrong one, storing nothing and leaving no file', async () => {
      const agent = await signedIn('stine')
      const before = await counts()
      for (const token of [null, 'forged']) {
        const response = await upload(agent, csv([row()]), 'import', { token })
        expect(response.status, String(token)).to.equal(403)
      }
      await app.services.imports.idle()
      expect(await counts()).to.deep.equal(before)
      expect(uploadsLeft()).to.deep.equal([])
    })

    it('refuses a file over the size limit with 413 and a Danish page', async () => {
      const agent = await signedIn('stine')
      const limit = app.services.imports.limits.maxUploadBytes
      app.services.imports.limits.maxUploadBytes = 2_000
      try {
        const response = await upload(agent, csv(Array.from({ length: 40 }, () => row())), 'import')
        expect(response.status).to.equal(413)
        expect(response.text).to.contain('Filen er for stor. Den må højst fylde')
        expect(response.text).to.contain('<title>Fejl: Importér prøver fra en CSV-fil')
      } finally {
        app.services.imports.limits.maxUploadBytes = limit
      }
      expect(uploadsLeft()).to.deep.equal([])
    })

    it('refuses the auditor the import pages', async () => {
      const agent = await signedIn('revisor')
      expect((await get(agent, `${app.baseUrl}/medarbejder/import`)).status).to.equal(403)
      const start = await get(agent, `${app.baseUrl}/medarbejder`)
      const response = await agent
        .post(`${app.baseUrl}/medarbejder/import`)
        .redirects(0)
        .ok(() => true)
        .field('_csrf', csrfTokenOf(start.text))
        .field('mode', 'import')
        .attach('file', Buffer.from(csv([row()])), 'x.csv')
      expect(response.status).to.equal(403)
      expect(uploadsLeft()).to.deep.equal([])
    })

    it('never logs a CPR number from an imported file', () => {
      const logged = capturedLogLines.join('')
      expect(logged).not.to.contain(anne)
      expect(logged).not.to.contain(`${anne.slice(0, 6)}-${anne.slice(6)}`)
    })
  })
})
