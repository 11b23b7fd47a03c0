// Staff export of a search result or a whole biobank: MIABIS-aligned CSV and a FHIR R4 Bundle of Specimens,
// streamed from the real database through the real app, for the biobank's admin only, and audited.
import { expect } from 'chai'
import { parse } from 'csv-parse/sync'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { validateFhir } from '../support/fhirSchema.ts'
import { BATCH_SIZE, CSV_COLUMNS, csvCell, csvRow } from '../../server/services/exportService.ts'
import { demoCitizens } from '../../seeders/demoPeople.ts'
import { sampleLabelSystem } from '../../server/domain/fhir.ts'

interface Bundle {
  resourceType: string
  type: string
  entry?: { fullUrl: string; resource: { resourceType: string; id: string; parent?: { reference: string }[]; identifier: { system: string; value: string }[]; type: { coding: { code: string }[] } } }[]
}

describe('CSV cells of the export', () => {
  it('neutralises every cell a spreadsheet would read as a formula with a leading apostrophe', () => {
    expect(csvCell('=HYPERLINK("http://evil.example")')).to.equal(`"'=HYPERLINK(""http://evil.example"")"`)
    expect(csvCell('+1+2')).to.equal("'+1+2")
    expect(csvCell('-1')).to.equal("'-1")
    expect(csvCell('@SUM(A1)')).to.equal("'@SUM(A1)")
    expect(csvCell('\tcmd')).to.equal("'\tcmd")
    expect(csvCell('\r=1')).to.equal(`"'\r=1"`)
  })

  it('leaves ordinary values alone, including a − (minus sign) temperature and a formula sign later in the cell', () => {
    for (const value of ['RH-2024-000123', 'Blood', '−18 °C to −35 °C', 'SER-SST-A-D-N-A-D', 'C50.9', '4.500', 'a=b', "'quoted"]) expect(csvCell(value)).to.equal(value)
  })

  it('quotes commas, quotes and line breaks (RFC 4180), and writes null as an empty cell', () => {
    expect(csvCell('Liquid nitrogen, vapour phase')).to.equal('"Liquid nitrogen, vapour phase"')
    expect(csvCell('say "hi"')).to.equal('"say ""hi"""')
    expect(csvCell('two\nlines')).to.equal('"two\nlines"')
    expect(csvCell(null)).to.equal('')
    expect(csvRow(['a', null, 'b,c'])).to.equal('a,,"b,c"\r\n')
  })
})

describe('staff export (/medarbejder/eksport)', function () {
  this.timeout(60_000)

  let app: TestApp
  const agents: Record<string, Agent> = {}
  let rhId: number

  const select = async <T extends object>(sql: string, bind: unknown[] = []): Promise<T[]> => app.services.database.sequelize.query<T>(sql, { bind, type: QueryTypes.SELECT })
  const count = async (sql: string, bind: unknown[] = []) => Number((await select<{ n: string }>(sql, bind))[0]!.n)
  const auditCount = () => count(`select count(*) as n from audit_events where action like 'export.%'`)

  const get = (who: string, path: string) =>
    agents[who]!.get(`${app.baseUrl}${path}`)
      .buffer(true)
      .parse((res, done) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => done(null, text))
      })
      .redirects(0)
      .ok(() => true)

  const csvOf = (text: string) => parse(text, { bom: true, columns: true, skip_empty_lines: true }) as Record<(typeof CSV_COLUMNS)[number], string>[]

  before(async function () {
    this.timeout(120_000)
    app = await startTestApp()
    for (const who of ['henrik', 'stine', 'mette', 'revisor']) {
      agents[who] = newAgent()
      await login(agents[who], app.baseUrl, 'staff', who)
    }
    rhId = (await select<{ id: number }>(`select id from biobanks where code = 'RH'`))[0]!.id
    // Compile the R4 schema up front (a few seconds, once).
    validateFhir({ resourceType: 'Bundle', type: 'collection' })
  })

  after(async () => {
    await app.close()
  })

  it('gives henrik (admin, RH) every RH sample as a MIABIS-aligned CSV download, and no CPR number', async () => {
    const response = await get('henrik', '/medarbejder/eksport.csv')
    expect(response.status).to.equal(200)
    expect(response.headers['content-type']).to.match(/^text\/csv; charset=utf-8/)
    expect(response.headers['content-disposition']).to.match(/^attachment; filename="samples-RH-\d{4}-\d{2}-\d{2}\.csv"$/)
    const text = response.body as string
    expect(text.split('\r\n')[0]).to.equal(`\uFEFF${CSV_COLUMNS.join(',')}`)

    const rows = csvOf(text)
    expect(rows.length).to.equal(await count('select count(*) as n from samples where biobank_id = $1', [rhId]))
    expect(rows.every((row) => row.biobank_code === 'RH')).to.equal(true)
    expect(new Set(rows.map((row) => row.sample_id)).size).to.equal(rows.length)
    // MIABIS terms, not our codes.
    expect(new Set(rows.map((row) => row.material_type))).to.include('Blood').and.not.include('whole-blood')
    expect(rows.every((row) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(row.collected_at))).to.equal(true)
    for (const citizen of demoCitizens) {
      expect(text).not.to.contain(citizen.cpr)
      expect(text).not.to.contain(`${citizen.cpr.slice(0, 6)}-${citizen.cpr.slice(6)}`)
    }
    expect(text).not.to.match(/\b\d{10}\b/)

    // Anne's RH DNA derivative names its parent by public id and label, and shares her pseudonym.
    const derivatives = rows.filter((row) => row.lineage !== 'primary')
    expect(derivatives.length).to.be.greaterThan(0)
    for (const row of derivatives) {
      const parent = rows.find((candidate) => candidate.sample_id === row.parent_sample_id)
      expect(parent, row.sample_label).not.to.equal(undefined)
      expect(parent!.sample_label).to.equal(row.parent_label)
      expect(parent!.donor_pseudonym).to.equal(row.donor_pseudonym)
    }
    expect(rows.every((row) => /^[0-9a-f]{20}$/.test(row.donor_pseudonym))).to.equal(true)
  })

  it('gives henrik the same samples as one FHIR R4 Bundle of Specimens that validates against the R4 schema', async () => {
    const response = await get('henrik', '/medarbejder/eksport.fhir.json')
    expect(response.status).to.equal(200)
    expect(response.headers['content-type']).to.match(/^application\/fhir\+json; charset=utf-8/)
    expect(response.headers['content-disposition']).to.match(/^attachment; filename="samples-RH-\d{4}-\d{2}-\d{2}\.fhir\.json"$/)
    const bundle = JSON.parse(response.body as string) as Bundle
    expect(validateFhir(bundle)).to.deep.equal([])
    expect(bundle.type).to.equal('collection')

    const entries = bundle.entry!
    expect(entries.length).to.equal(await count('select count(*) as n from samples where biobank_id = $1', [rhId]))
    expect(entries.every((e) => e.resource.resourceType === 'Specimen' && e.resource.identifier[0]!.system === sampleLabelSystem('RH'))).to.equal(true)
    const ids = new Set(entries.map((e) => e.resource.id))
    const parents = entries.flatMap((e) => e.resource.parent ?? [])
    expect(parents.length).to.be.greaterThan(0)
    // A whole-biobank export holds every parent (a parent is in the same biobank).
    for (const { reference } of parents) {
      expect(reference).to.match(/^Specimen\//)
      expect(ids.has(reference.slice('Specimen/'.length)), reference).to.equal(true)
    }
  })

  it('audits each export once, before streaming, with the criteria and the number of rows', async () => {
    const before = await auditCount()
    await get('henrik', '/medarbejder/eksport.csv?materialType=plasma')
    await get('henrik', '/medarbejder/eksport.fhir.json?materialType=plasma')
    expect(await auditCount()).to.equal(before + 2)
    const events = await select<{ action: string; details: { biobank: string; criteria: Record<string, string>; rowCount: number }; actor_staff_id: string; name: string }>(
      `select a.action, a.details, s.name from audit_events a join staff_users s on s.id = a.actor_staff_id where a.action like 'export.%' order by a.id desc limit 2`,
    )
    const plasma = await count(`select count(*) as n from samples where biobank_id = $1 and material_type = 'plasma'`, [rhId])
    expect(events.map((e) => e.action)).to.deep.equal(['export.fhir', 'export.csv'])
    for (const event of events) {
      expect(event.name).to.equal('Henrik Holm')
      expect(event.details.biobank).to.equal('RH')
      expect(event.details.criteria).to.deep.equal({ materialType: 'plasma' })
      expect(event.details.rowCount).to.equal(plasma)
    }
  })

  it('exports only what the criteria select', async () => {
    const dna = csvOf((await get('henrik', '/medarbejder/eksport.csv?materialType=dna')).body as string)
    expect(dna.length).to.equal(await count(`select count(*) as n from samples where biobank_id = $1 and material_type = 'dna'`, [rhId]))
    expect(dna.length).to.be.greaterThan(0)
    expect(dna.every((row) => row.material_type === 'DNA')).to.equal(true)

    const inRange = csvOf((await get('henrik', '/medarbejder/eksport.csv?collectedFrom=2020-01-01&collectedTo=2022-12-31&availability=available')).body as string)
    expect(inRange.length).to.equal(
      await count(
        `select count(*) as n from samples where biobank_id = $1 and availability = 'available'
            and (collected_at at time zone 'Europe/Copenhagen')::date between '2020-01-01' and '2022-12-31'`,
        [rhId],
      ),
    )
    expect(inRange.length).to.be.greaterThan(0)
    expect(inRange.every((row) => row.availability === 'available' && row.collected_at >= '2019-12-31' && row.collected_at < '2023-01-01')).to.equal(true)

    // A label finds the sample and the aliquots and derivatives labelled after it.
    const [parent] = await select<{ label: string }>(`select p.label from samples p where p.biobank_id = $1 and exists (select 1 from samples c where c.parent_id = p.id) order by p.label limit 1`, [rhId])
    const family = csvOf((await get('henrik', `/medarbejder/eksport.csv?label=${parent!.label}`)).body as string)
    expect(family.map((row) => row.sample_label)).to.include(parent!.label)
    expect(family.every((row) => row.sample_label.startsWith(parent!.label))).to.equal(true)

    // Criteria that match nothing give a header-only CSV and a valid empty Bundle.
    const none = await get('henrik', '/medarbejder/eksport.csv?label=NO-SUCH-LABEL')
    expect(csvOf(none.body as string)).to.deep.equal([])
    const empty = JSON.parse((await get('henrik', '/medarbejder/eksport.fhir.json?label=NO-SUCH-LABEL')).body as string) as Bundle
    expect(empty).not.to.have.property('entry')
    expect(validateFhir(empty)).to.deep.equal([])
  })

  it('names a parent that the criteria leave out by a relative reference to its Specimen id', async () => {
    const bundle = JSON.parse((await get('henrik', '/medarbejder/eksport.fhir.json?materialType=dna')).body as string) as Bundle
    expect(validateFhir(bundle)).to.deep.equal([])
    const expected = await select<{ child: string; parent: string }>(
      `select c.public_id as child, p.public_id as parent from samples c join samples p on p.id = c.parent_id where c.biobank_id = $1 and c.material_type = 'dna'`,
      [rhId],
    )
    expect(expected.length).to.be.greaterThan(0)
    for (const { child, parent } of expected) {
      const entry = bundle.entry!.find((e) => e.resource.id === child)
      expect(entry!.resource.parent).to.deep.equal([{ reference: `Specimen/${parent}` }])
    }
  })

  it('refuses a registrar, the auditor and another biobank\'s admin (403), and audits nothing for them', async () => {
    const before = await auditCount()
    for (const path of ['/medarbejder/eksport.csv', '/medarbejder/eksport.fhir.json']) {
      expect((await get('stine', path)).status, `stine ${path}`).to.equal(403)
      expect((await get('revisor', path)).status, `revisor ${path}`).to.equal(403)
      expect((await get('revisor', `${path}?biobank=RH`)).status, `revisor ${path}`).to.equal(403)
      expect((await get('mette', `${path}?biobank=RH`)).status, `mette ${path}`).to.equal(403)
      expect((await get('henrik', `${path}?biobank=RM`)).status, `henrik ${path}`).to.equal(403)
    }
    expect(await auditCount()).to.equal(before)
    const refused = await get('mette', '/medarbejder/eksport.csv?biobank=RH')
    expect(refused.headers['content-disposition']).to.equal(undefined)
    expect(refused.body as string).not.to.contain('sample_id')
  })

  it("gives mette (admin, RM) her own biobank's samples", async () => {
    const [{ id: rmId }] = (await select<{ id: number }>(`select id from biobanks where code = 'RM'`)) as [{ id: number }]
    const rows = csvOf((await get('mette', '/medarbejder/eksport.csv')).body as string)
    expect(rows.length).to.equal(await count('select count(*) as n from samples where biobank_id = $1', [rmId]))
    expect(rows.every((row) => row.biobank_code === 'RM')).to.equal(true)
  })

  it('sends someone not signed in to the staff login, and answers a malformed criterion with 400', async () => {
    const anonymous = await newAgent().get(`${app.baseUrl}/medarbejder/eksport.csv`).redirects(0).ok(() => true)
    expect(anonymous.status).to.equal(303)
    expect(anonymous.headers.location).to.match(/^\/auth\/medarbejder\/login/)
    const before = await auditCount()
    for (const query of ['materialType=blood', 'collectedFrom=2024-13-01', 'availability=lost', 'label=a%20b', 'biobank=XX', 'materialType=dna&materialType=rna']) {
      const response = await get('henrik', `/medarbejder/eksport.csv?${query}`)
      expect(response.status, query).to.equal(400)
      expect(response.body as string).to.contain('Vi kunne ikke forstå forespørgslen')
    }
    expect(await auditCount()).to.equal(before)
  })

  it('neutralises a real label that starts with a formula sign in the CSV, and keeps it as it is in FHIR', async () => {
    // Labels allow [A-Za-z0-9._-], so "-" is the one formula sign a stored value can start with; quantities are
    // positive, codes and MIABIS terms never start with one, and no exported column holds free text.
    const [donor] = await select<{ donor_id: string }>('select donor_id from samples where biobank_id = $1 limit 1', [rhId])
    await app.services.database.sequelize.query(
      `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature) values ($1, '-1.A1', $2, 'serum', now() - interval '2 days', '-60to-85')`,
      { bind: [rhId, donor!.donor_id] },
    )
    const csv = (await get('henrik', '/medarbejder/eksport.csv?label=-1.A1')).body as string
    const [row] = csvOf(csv)
    expect(row!.sample_label).to.equal("'-1.A1")
    expect(csv).to.contain(",'-1.A1,")
    const bundle = JSON.parse((await get('henrik', '/medarbejder/eksport.fhir.json?label=-1.A1')).body as string) as Bundle
    expect(bundle.entry!.map((e) => e.resource.identifier[0]!.value)).to.deep.equal(['-1.A1'])
  })

  it('streams an export of several database batches without losing or repeating a sample', async () => {
    const [donor] = await select<{ donor_id: string }>('select donor_id from samples where biobank_id = $1 limit 1', [rhId])
    const extra = 2 * BATCH_SIZE + 7
    await app.services.database.sequelize.query(
      `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature, quantity, quantity_unit)
       select $1, 'BULK-' || lpad(g::text, 6, '0'), $2, 'serum', now() - interval '3 days', '-60to-85', 0.5, 'mL' from generate_series(1, ${extra}) g`,
      { bind: [rhId, donor!.donor_id] },
    )
    const expected = (await select<{ public_id: string }>('select public_id from samples where biobank_id = $1', [rhId])).map((r) => r.public_id).sort()

    const rows = csvOf((await get('henrik', '/medarbejder/eksport.csv')).body as string)
    expect(rows.map((row) => row.sample_id).sort()).to.deep.equal(expected)

    const bundle = JSON.parse((await get('henrik', '/medarbejder/eksport.fhir.json')).body as string) as Bundle
    expect(bundle.entry!.map((e) => e.resource.id).sort()).to.deep.equal(expected)
    expect(validateFhir(bundle)).to.deep.equal([])
  })
})
