// Printable label sheets (POST /medarbejder/etiketter) on the real app and database: the registrar or admin of a
// sample's biobank gets one label per chosen sample, each with an inline SVG barcode and no CPR number or name;
// unknown and other biobanks' samples refuse the whole sheet; the auditor prints none; the number is capped.
import crypto from 'node:crypto'
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { barcodeSvg, MAX_LABELS_PER_SHEET } from '../../server/services/labelService.ts'
import { demoCitizens } from '../../seeders/demoPeople.ts'
import { cprShapedText } from '../support/cprShape.ts'

interface SampleRow {
  id: number
  publicId: string
  label: string
  materialType: string
  collectedOn: string
  donorId: number
}

/** The <li> of each label on the sheet, by sample public id. */
function labelItems(html: string): Map<string, string> {
  return new Map([...html.matchAll(/<li class="sample-label sample-label--(?:code128|datamatrix)" data-public-id="([^"]+)">([\s\S]*?)<\/li>/g)].map((m) => [m[1]!, m[2]!]))
}

describe('staff label sheets', function () {
  let app: TestApp
  const agents: Record<string, Agent> = {}

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  const samplesOf = (code: string, limit: number) =>
    select<SampleRow>(
      `select s.id, s.public_id as "publicId", s.label, s.material_type as "materialType",
              to_char(s.collected_at at time zone 'Europe/Copenhagen', 'YYYY-MM-DD') as "collectedOn", s.donor_id as "donorId"
         from samples s join biobanks b on b.id = s.biobank_id where b.code = :code order by s.label limit :limit`,
      { code, limit },
    )

  const printAudits = async () => (await select<{ n: number }>(`select count(*)::int as n from audit_events where action = 'sample.label_print'`))[0]!.n

  /** POSTs the ids as repeated `sample` fields with a valid CSRF token. */
  async function print(userId: string, ids: string[], options: { csrf?: boolean; lang?: 'da' | 'en' } = {}) {
    const agent = agents[userId]!
    const start = await get(agent, `${app.baseUrl}/medarbejder${options.lang ? `?lang=${options.lang}` : ''}`)
    const form = new URLSearchParams(ids.map((id): [string, string] => ['sample', id]))
    if (options.csrf !== false) form.append('_csrf', csrfTokenOf(start.text))
    return agent.post(`${app.baseUrl}/medarbejder/etiketter`).type('form').send(form.toString()).redirects(0).ok(() => true)
  }

  before(async function () {
    this.timeout(120_000)
    app = await startTestApp()
    for (const userId of ['stine', 'henrik', 'mette', 'revisor']) {
      agents[userId] = newAgent()
      await login(agents[userId]!, app.baseUrl, 'staff', userId)
    }
  })

  after(async () => {
    await app?.close()
  })

  it('prints a label for each chosen sample of the registrar\'s own biobank, each with an SVG barcode, and audits each', async () => {
    const samples = await samplesOf('RH', 3)
    const before = await printAudits()
    const response = await print('stine', samples.map((s) => s.publicId))
    expect(response.status).to.equal(200)
    const html = response.text
    expect(html).to.contain('3 etiketter er klar til udskrift.')

    const items = labelItems(html)
    expect([...items.keys()], 'one label per sample, in the order chosen').to.deep.equal(samples.map((s) => s.publicId))
    for (const sample of samples) {
      const item = items.get(sample.publicId)!
      expect(item, sample.label).to.match(/<svg class="label-barcode label-barcode--(code128|datamatrix)" viewBox="0 0 \d+ \d+"[^>]*aria-hidden="true"[^>]*>(<path [^<>]*\/>)+<\/svg>/)
      expect(item).to.contain(`<p class="sample-label-id">${sample.label}</p>`)
      expect(item).to.contain(sample.collectedOn)
      expect(item).to.contain('RH · Region Hovedstadens Biobank')
    }
    const material = { 'whole-blood': 'Fuldblod', plasma: 'Plasma', serum: 'Serum', dna: 'DNA' } as Record<string, string>
    for (const sample of samples) if (material[sample.materialType]) expect(items.get(sample.publicId)).to.contain(material[sample.materialType])

    // Printing reads sample data: one audit event per printed sample, naming the sample and its donor.
    expect(await printAudits()).to.equal(before + 3)
    const audits = await select<{ sample_id: number; subject_donor_id: number; actor_staff_id: number }>(
      `select sample_id, subject_donor_id, actor_staff_id from audit_events where action = 'sample.label_print' order by id desc limit 3`,
    )
    expect(audits.map((a) => Number(a.sample_id)).sort()).to.deep.equal(samples.map((s) => Number(s.id)).sort())
    for (const audit of audits) expect(Number(audit.subject_donor_id)).to.equal(Number(samples.find((s) => Number(s.id) === Number(audit.sample_id))!.donorId))
  })

  it('puts no CPR number and no name on the labels', async () => {
    // Anne has samples in RH; the admin prints them all.
    const anne = demoCitizens.find((c) => c.userId === 'anne')!
    const hmac = app.services.cpr.hash(anne.cpr)
    const annes = await select<{ publicId: string }>(
      `select s.public_id as "publicId" from samples s join donors d on d.id = s.donor_id join biobanks b on b.id = s.biobank_id
        where d.cpr_hmac = :hmac and b.code = 'RH'`,
      { hmac },
    )
    expect(annes.length).to.be.greaterThan(0)
    const response = await print('henrik', annes.map((s) => s.publicId))
    expect(response.status).to.equal(200)
    const sheet = /<div class="label-sheet">([\s\S]*?)<\/main>/.exec(response.text)![1]!
    expect(labelItems(sheet).size).to.equal(annes.length)
    expect(sheet).not.to.contain(anne.cpr)
    expect(sheet).not.to.contain(`${anne.cpr.slice(0, 6)}-${anne.cpr.slice(6)}`)
    expect(cprShapedText(sheet), 'text shaped like a CPR number').to.equal(undefined)
    expect(sheet).not.to.contain('Anne')
  })

  it('refuses the whole sheet with 403 when one sample belongs to another biobank, and prints nothing', async () => {
    const [own] = await samplesOf('RH', 1)
    const [foreign] = await samplesOf('RM', 1)
    const before = await printAudits()
    const response = await print('stine', [own!.publicId, foreign!.publicId])
    expect(response.status).to.equal(403)
    expect(response.text).to.contain('1 af de valgte prøver hører til en anden biobank')
    expect(response.text).to.contain('din egen biobank, Region Hovedstadens Biobank')
    expect(response.text).to.contain('Der er ikke lavet nogen etiketter.')
    expect(response.text).not.to.contain('label-barcode')
    expect(response.text).not.to.contain(own!.label)
    expect(await printAudits()).to.equal(before)

    // And the other way round: RM's admin cannot print RH's sample, but can print RM's.
    expect((await print('mette', [own!.publicId])).status).to.equal(403)
    const rm = await print('mette', [foreign!.publicId])
    expect(rm.status).to.equal(200)
    expect(labelItems(rm.text).get(foreign!.publicId)).to.match(/<svg class="label-barcode/)
  })

  it('refuses with 404 when a chosen id names no sample (well-formed or not), never dropping it silently', async () => {
    const [own] = await samplesOf('RH', 1)
    const before = await printAudits()
    for (const unknown of [crypto.randomUUID(), 'not-a-sample-id', '<script>']) {
      const response = await print('henrik', [own!.publicId, unknown])
      expect(response.status, unknown).to.equal(404)
      expect(response.text).to.contain('1 af de valgte prøver findes ikke i registeret')
      expect(response.text).not.to.contain('label-barcode')
      expect(response.text).not.to.contain('<script>')
    }
    expect(await printAudits()).to.equal(before)
  })

  it('prints nothing for the auditor (403)', async () => {
    const [own] = await samplesOf('RH', 1)
    const response = await print('revisor', [own!.publicId])
    expect(response.status).to.equal(403)
    expect(response.text).to.contain('Som revisor kan du ikke udskrive etiketter')
    expect(response.text).not.to.contain('label-barcode')
  })

  it('asks for at least one sample (400)', async () => {
    const response = await print('stine', [])
    expect(response.status).to.equal(400)
    expect(response.text).to.contain('Du har ikke valgt nogen prøver')
  })

  it(`caps a sheet at ${MAX_LABELS_PER_SHEET} labels with a clear message (400)`, async () => {
    const ids = Array.from({ length: MAX_LABELS_PER_SHEET + 1 }, () => crypto.randomUUID())
    const response = await print('stine', ids)
    expect(response.status).to.equal(400)
    expect(response.text).to.contain(`Du har valgt ${MAX_LABELS_PER_SHEET + 1} prøver. Du kan højst udskrive ${MAX_LABELS_PER_SHEET} etiketter ad gangen.`)
  })

  it('prints a single chosen sample, a repeated id once, and more than one A4 sheet in sheets of 21', async () => {
    const samples = await samplesOf('RH', 25)
    expect(samples).to.have.length(25)
    const one = await print('stine', [samples[0]!.publicId])
    expect(one.status).to.equal(200)
    expect(one.text).to.contain('1 etiket er klar til udskrift.')
    expect(labelItems(one.text).size).to.equal(1)

    const many = await print('stine', [...samples.map((s) => s.publicId), samples[0]!.publicId])
    expect(many.status).to.equal(200)
    expect(labelItems(many.text).size).to.equal(25)
    const pages = [...many.text.matchAll(/<section class="label-page" aria-label="([^"]+)">([\s\S]*?)<\/section>/g)]
    expect(pages.map((p) => p[1])).to.deep.equal(['Etiketark 1 af 2', 'Etiketark 2 af 2'])
    expect(pages.map((p) => labelItems(p[2]!).size)).to.deep.equal([21, 4])
  })

  it('uses DataMatrix for a label too long to print as Code 128, and speaks English when asked', async () => {
    const [own] = await samplesOf('RH', 1)
    const longLabel = `RH-LONG-${'0123456789'.repeat(5)}`
    const [created] = await select<{ publicId: string }>(
      `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature)
       select biobank_id, :label, donor_id, 'tissue-ffpe', '2024-03-01T10:00:00Z', 'rt' from samples where id = :id
       returning public_id as "publicId"`,
      { label: longLabel, id: own!.id },
    )
    const response = await print('henrik', [own!.publicId, created!.publicId], { lang: 'en' })
    expect(response.status).to.equal(200)
    expect(response.text).to.contain('2 labels are ready to print.')
    const item = labelItems(response.text).get(created!.publicId)!
    expect(item).to.contain('label-barcode--datamatrix')
    expect(item).to.contain(longLabel)
    expect(item).to.contain('Tissue (formalin-fixed, paraffin-embedded)')
    expect(item).to.contain('2024-03-01')
    await get(agents.henrik!, `${app.baseUrl}/medarbejder?lang=da`)
  })

  it('refuses a POST without the CSRF token', async () => {
    const [own] = await samplesOf('RH', 1)
    const response = await print('stine', [own!.publicId], { csrf: false })
    expect(response.status).to.equal(403)
    expect(response.text).not.to.contain('label-barcode')
  })

  it('makes barcodes only of valid sample labels, as SVG holding nothing but paths', () => {
    const short = barcodeSvg('RH-2024-001234')
    expect(short.symbology).to.equal('code128')
    expect(short.svg).to.match(/^<svg class="label-barcode label-barcode--code128" viewBox="0 0 \d+ \d+" preserveAspectRatio="none" xmlns="http:\/\/www\.w3\.org\/2000\/svg" aria-hidden="true" focusable="false">(<path [^<>]*\/>\s*)+<\/svg>$/)
    expect(barcodeSvg('A'.repeat(64)).symbology).to.equal('datamatrix')
    for (const bad of ['', 'a b', '<svg>', '"x"', 'æøå', 'A'.repeat(65)]) expect(() => barcodeSvg(bad), JSON.stringify(bad)).to.throw()
  })
})
