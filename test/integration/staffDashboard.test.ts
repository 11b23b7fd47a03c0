// The staff dashboard (GET /medarbejder) on the real app and database: each role sees the counts of its own scope
// (own biobank, or every biobank for the auditor), as accessible SVG charts with the same numbers in tables, and
// the service reuses its counts for a minute per scope.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { createDashboardService, DASHBOARD_CACHE_MS, DASHBOARD_STALE_MS } from '../../server/services/dashboardService.ts'
import type { StaffSessionUser } from '../../server/services/authService.ts'
import { ForbiddenError } from '../../server/services/authorization.ts'
import { availabilities, materialTypes, storageTemperatures } from '../../server/domain/vocabulary.ts'

/** Rows of the table with this caption: [row header, first number cell, second cell]. */
function tableRows(html: string, caption: string): Array<[string, string, string]> {
  const table = new RegExp(`<caption>${caption.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}</caption>([\\s\\S]*?)</table>`).exec(html)
  expect(table, `a table captioned "${caption}"`).to.not.equal(null)
  const body = /<tbody>([\s\S]*?)<\/tbody>/.exec(table![1]!)![1]!
  return [...body.matchAll(/<th scope="row">([^<]*)<\/th>\s*<td[^>]*>([^<]*)<\/td>\s*<td[^>]*>([^<]*)<\/td>/g)].map((m) => [m[1]!, m[2]!, m[3]!])
}

/** "1.234" (Danish) or "1,234" (English) to 1234. */
const parseCount = (text: string) => Number(text.replace(/[.,\s]/g, ''))

describe('staff dashboard', function () {
  let app: TestApp
  const agents: Record<string, Agent> = {}

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  const biobankId = async (code: string) => (await select<{ id: number }>('select id from biobanks where code = :code', { code }))[0]!.id

  /** Sample counts per value of `column`, for one biobank or all, straight from the table. */
  async function expectedCounts(column: string, code?: string): Promise<Map<string, number>> {
    const rows = await select<{ value: string; n: number }>(
      `select s.${column}::text as value, count(*)::int as n from samples s join biobanks b on b.id = s.biobank_id
        ${code ? 'where b.code = :code' : ''} group by 1`,
      { code },
    )
    return new Map(rows.map((r) => [r.value, r.n]))
  }

  /** Donors with a sample in scope, and how many of them opted out of each choice, counted another way. */
  async function expectedOptOuts(code?: string) {
    return (
      await select<{ donors: number; material: number; genetic: number }>(
        `select count(*)::int as donors, count(*) filter (where o.material)::int as material, count(*) filter (where o.genetic)::int as genetic
           from (select distinct s.donor_id from samples s join biobanks b on b.id = s.biobank_id ${code ? 'where b.code = :code' : ''}) d
           left join opt_outs o on o.donor_id = d.donor_id`,
        { code },
      )
    )[0]!
  }

  async function page(userId: string, query = ''): Promise<string> {
    const response = await get(agents[userId]!, `${app.baseUrl}/medarbejder${query}`)
    expect(response.status, `GET /medarbejder as ${userId}`).to.equal(200)
    return response.text
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

  beforeEach(() => {
    app.services.dashboard.clearCache()
  })

  it('greets the staff user by name in the one h1, with role and biobank', async () => {
    const html = await page('henrik')
    const headings = [...html.matchAll(/<h1[^>]*>([^<]*)<\/h1>/g)].map((m) => m[1])
    expect(headings).to.deep.equal(['Velkommen, Henrik Holm'])
    expect(html).to.contain('Biobankadministrator, Region Hovedstadens Biobank')
  })

  it('shows a registrar the counts of her own biobank only, by material type, temperature and availability, in Danish', async () => {
    const html = await page('stine')
    expect(html).to.contain('Her er et overblik over prøverne i Region Hovedstadens Biobank.')

    const checks = [
      { caption: 'Prøver fordelt på materialetype', column: 'material_type', vocabulary: materialTypes },
      { caption: 'Prøver fordelt på opbevaringstemperatur', column: 'storage_temperature', vocabulary: storageTemperatures },
      { caption: 'Prøver fordelt på tilgængelighed', column: 'availability', vocabulary: availabilities },
    ]
    for (const { caption, column, vocabulary } of checks) {
      const expected = await expectedCounts(column, 'RH')
      const rows = tableRows(html, caption)
      // Every code of the vocabulary, in its order, with its Danish label (zero when the biobank has none).
      expect(rows.map((r) => r[0]), caption).to.deep.equal(vocabulary.map((entry) => entry.da))
      for (const entry of vocabulary) {
        const row = rows.find((r) => r[0] === entry.da)!
        expect(parseCount(row[1]), `${caption}: ${entry.da}`).to.equal(expected.get(entry.code) ?? 0)
      }
    }
    // RH's total, not the national one.
    const total = [...(await expectedCounts('availability', 'RH')).values()].reduce((a, b) => a + b, 0)
    const national = (await select<{ n: number }>('select count(*)::int as n from samples'))[0]!.n
    expect(total).to.be.lessThan(national)
    expect(html).to.contain(`Der er ${total} prøver fra`)
    // Within one biobank there is no breakdown by region.
    expect(html).not.to.contain('Prøver fordelt på regionernes biobanker')
  })

  it('shows another biobank its own numbers (mette, RM)', async () => {
    const html = await page('mette')
    expect(html).to.contain('Region Midtjyllands Biobank.')
    const expected = await expectedCounts('material_type', 'RM')
    const rows = tableRows(html, 'Prøver fordelt på materialetype')
    expect(parseCount(rows.find((r) => r[0] === 'Fuldblod')![1])).to.equal(expected.get('whole-blood') ?? 0)
    const rh = await expectedCounts('material_type', 'RH')
    const all = [...materialTypes].map((m) => [expected.get(m.code) ?? 0, rh.get(m.code) ?? 0])
    expect(all.some(([rm, h]) => rm !== h), 'RM and RH differ somewhere').to.equal(true)
  })

  it('shows the auditor every biobank, with a breakdown by region', async () => {
    const html = await page('revisor')
    expect(html).to.contain('alle regionernes biobanker')
    const rows = tableRows(html, 'Prøver fordelt på regionernes biobanker')
    const expected = await select<{ name: string; n: number }>(
      'select b.name, count(s.id)::int as n from biobanks b left join samples s on s.biobank_id = b.id group by b.id order by b.id',
    )
    expect(rows.map((r) => [r[0], parseCount(r[1])])).to.deep.equal(expected.map((e) => [e.name, e.n]))
    const national = (await select<{ n: number }>('select count(*)::int as n from samples'))[0]!.n
    expect(html).to.match(new RegExp(`Der er ${national.toLocaleString('da-DK').replace('.', '\\.')} prøver fra`))
  })

  it('shows the share of donors in scope who opted out of material and of genetic use', async () => {
    for (const [userId, code] of [['revisor', undefined], ['henrik', 'RH']] as const) {
      const html = await page(userId)
      const expected = await expectedOptOuts(code)
      const rows = tableRows(html, 'Donorer med fravalg af forskning')
      expect(rows.map((r) => r[0])).to.deep.equal(['Nej til brug af biologisk materiale', 'Nej til brug af genetiske oplysninger'])
      expect(parseCount(rows[0]![1]), `${userId}: material`).to.equal(expected.material)
      expect(parseCount(rows[1]![1]), `${userId}: genetic`).to.equal(expected.genetic)
      const percent = (n: number) => new Intl.NumberFormat('da-DK', { style: 'percent', maximumFractionDigits: 1 }).format(n / expected.donors)
      expect(rows[0]![2]).to.equal(percent(expected.material))
      expect(rows[1]![2]).to.equal(percent(expected.genetic))
      expect(html).to.contain(`Andelen af de ${expected.donors.toLocaleString('da-DK')} donorer`)
    }
    // The demo data has opt-outs nationally (bo and a few further donors), so the national share is not zero.
    const national = await expectedOptOuts()
    expect(national.material).to.be.greaterThan(0)
    expect(national.genetic).to.be.greaterThan(0)
  })

  it('draws every chart as an SVG image named by its title and description, with a captioned table of the same numbers', async () => {
    const html = await page('revisor')
    const charts = [...html.matchAll(/<svg class="bar-chart"([^>]*)>([\s\S]*?)<\/svg>/g)]
    expect(charts).to.have.length(5) // material, temperature, availability, region, opt-out
    for (const [, attributes, inner] of charts) {
      expect(attributes).to.contain('role="img"')
      const [titleId, descId] = /aria-labelledby="([^" ]+) ([^"]+)"/.exec(attributes!)!.slice(1)
      const title = new RegExp(`<title id="${titleId}">([^<]+)</title>`).exec(inner!)
      expect(title, 'title referenced by aria-labelledby').to.not.equal(null)
      expect(inner).to.match(new RegExp(`<desc id="${descId}">[^<]+</desc>`))
      // The chart's title is the caption of a table right after it.
      expect(html).to.contain(`<caption>${title![1]}</caption>`)
      // One bar per table row, each labelled.
      expect((inner!.match(/class="bar-chart-bar"/g) ?? []).length).to.equal(tableRows(html, title![1]!).length)
    }
    expect(html).to.contain('<th scope="col">Materialetype</th>')
    expect(html).not.to.match(/<script(?![^>]*\bsrc=)[^>]*>/)
    expect(html).not.to.match(/\sstyle=/)
  })

  it('draws bars in proportion: the largest count fills the chart, zero draws no bar', async () => {
    const html = await page('henrik')
    const chart = /<svg class="bar-chart"[^>]*aria-labelledby="chart-materialType-title[\s\S]*?<\/svg>/.exec(html)![0]
    const bars = [...chart.matchAll(/<text class="bar-chart-label"[^>]*>([^<]*)<\/text>[\s\S]*?class="bar-chart-bar"[^>]*width="(\d+)"/g)].map((m) => ({ label: m[1]!, width: Number(m[2]) }))
    const counts = await expectedCounts('material_type', 'RH')
    const max = Math.max(...counts.values())
    for (const entry of materialTypes) {
      const bar = bars.find((b) => b.label === entry.da)!
      const count = counts.get(entry.code) ?? 0
      if (count === 0) expect(bar.width, entry.da).to.equal(0)
      else expect(bar.width, entry.da).to.be.closeTo(Math.max(2, (232 * count) / max), 1)
    }
  })

  it('speaks English with ?lang=en, labels from the vocabulary', async () => {
    const html = await page('henrik', '?lang=en')
    expect(html).to.contain('Welcome, Henrik Holm')
    const rows = tableRows(html, 'Samples by material type')
    expect(rows.map((r) => r[0])).to.deep.equal(materialTypes.map((m) => m.en))
    expect(html).to.contain('Tissue (formalin-fixed, paraffin-embedded)')
    // Back to Danish for the other tests.
    await page('henrik', '?lang=da')
  })

  it('escapes names from the database in the chart and the table', async () => {
    const id = await biobankId('RSJ')
    const original = (await select<{ name: string }>('select name from biobanks where id = :id', { id }))[0]!.name
    await app.services.database.sequelize.query(`update biobanks set name = '<script>x</script> & Co' where id = :id`, { replacements: { id } })
    try {
      const html = await page('revisor')
      expect(html).not.to.contain('<script>x</script>')
      expect(html).to.contain('&lt;script&gt;x&lt;/script&gt; &amp; Co')
    } finally {
      await app.services.database.sequelize.query('update biobanks set name = :original where id = :id', { replacements: { id, original } })
    }
  })

  it('keeps counting to the service: a registrar without a biobank is refused, the auditor covers every biobank', async () => {
    const staff = (await select<{ id: number }>(`select id from staff_users where role = 'registrar' limit 1`))[0]!
    const forged: StaffSessionUser = { kind: 'staff', staffUserId: staff.id, name: 'x', role: 'registrar', biobankId: null, biobankCode: null }
    let error: unknown
    try {
      await app.services.dashboard.overview(forged)
    } catch (e) {
      error = e
    }
    expect(error).to.be.instanceOf(ForbiddenError)

    const auditor: StaffSessionUser = { kind: 'staff', staffUserId: staff.id, name: 'r', role: 'auditor', biobankId: null, biobankCode: null }
    const overview = await app.services.dashboard.overview(auditor)
    expect(overview.scope).to.equal(null)
    expect(overview.byBiobank.map((b) => b.code)).to.deep.equal(['RH', 'RSJ', 'RSD', 'RM', 'RN'])
  })

  /** Marks one available RH sample depleted for the duration of `body`. */
  async function withOneSampleDepleted(rh: number, body: () => Promise<void>) {
    const { sequelize } = app.services.database
    const target = (await select<{ id: number }>(`select id from samples where biobank_id = :rh and availability = 'available' order by id limit 1`, { rh }))[0]!
    await sequelize.query(`update samples set availability = 'depleted' where id = :id`, { replacements: { id: target.id } })
    try {
      await body()
    } finally {
      await sequelize.query(`update samples set availability = 'available' where id = :id`, { replacements: { id: target.id } })
    }
  }

  const availableOf = (overview: { byAvailability: { code: string; count: number }[] }) => overview.byAvailability.find((r) => r.code === 'available')!.count

  it('reuses the counts of a scope for a minute, then counts again', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z')
    const service = createDashboardService(app.services, { now: () => clock, staleMs: 0 })
    const rh = await biobankId('RH')
    const user: StaffSessionUser = { kind: 'staff', staffUserId: 1, name: 'h', role: 'biobank_admin', biobankId: rh, biobankCode: 'RH' }
    const first = await service.overview(user)
    const available = availableOf(first)
    expect(available).to.be.greaterThan(0)

    await withOneSampleDepleted(rh, async () => {
      clock += DASHBOARD_CACHE_MS - 1000
      const cached = await service.overview(user)
      expect(availableOf(cached), 'within the minute').to.equal(available)
      expect(cached.computedAt.getTime()).to.equal(first.computedAt.getTime())

      clock += 2000
      const fresh = await service.overview(user)
      expect(availableOf(fresh), 'after the minute').to.equal(available - 1)
      expect(fresh.computedAt.getTime()).to.be.greaterThan(first.computedAt.getTime())

      // Another scope has counts of its own.
      const rm = await biobankId('RM')
      const other = await service.overview({ ...user, biobankId: rm, biobankCode: 'RM' })
      expect(other.scope?.code).to.equal('RM')
    })
  })

  it('after the minute answers at once with the older counts and counts again in the background; much later it waits for new ones', async () => {
    let clock = Date.parse('2026-03-01T10:00:00Z')
    const service = createDashboardService(app.services, { now: () => clock })
    const rh = await biobankId('RH')
    const user: StaffSessionUser = { kind: 'staff', staffUserId: 1, name: 'h', role: 'biobank_admin', biobankId: rh, biobankCode: 'RH' }
    const first = await service.overview(user)
    const available = availableOf(first)

    await withOneSampleDepleted(rh, async () => {
      clock += DASHBOARD_CACHE_MS + 1000
      const stale = await service.overview(user)
      expect(stale.computedAt.getTime(), 'the older counts, answered at once').to.equal(first.computedAt.getTime())
      expect(availableOf(stale)).to.equal(available)
      // The background count replaces them once it is done.
      let next = stale
      for (let attempt = 0; attempt < 200 && next.computedAt.getTime() === first.computedAt.getTime(); attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 10))
        next = await service.overview(user)
      }
      expect(availableOf(next), 'counted again').to.equal(available - 1)
    })

    // Long after, the page waits for new counts rather than show old ones.
    clock += DASHBOARD_CACHE_MS + DASHBOARD_STALE_MS + 1000
    const late = await service.overview(user)
    expect(availableOf(late)).to.equal(available)
    expect(late.computedAt.getTime()).to.equal(clock)
  })
})
