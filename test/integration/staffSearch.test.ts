// Find samples (/medarbejder/soeg): each criterion on the demo data, keyset paging through a whole biobank, the
// audited CPR search that never puts the number in a URL, a log line or the page, harmless SQL metacharacters, and
// the biobank scope of each role. The real app over HTTP, and the search service on the same database.
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import { startTestApp, capturedLogLines, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { demoCitizen } from '../../seeders/demoPeople.ts'
import type { CitizenSessionUser, StaffSessionUser } from '../../server/services/authService.ts'
import { ForbiddenError } from '../../server/services/authorization.ts'
import {
  buildSampleQuery,
  decodeCursor,
  encodeCursor,
  InvalidCriteriaError,
  InvalidCursorError,
  SEARCH_PAGE_SIZE,
  type SearchPage,
} from '../../server/services/searchService.ts'
import type { SampleCriteria } from '../../server/domain/sampleCriteria.ts'

const ANNE_CPR = demoCitizen('anne').cpr
/** Every way anne's CPR number could be written. */
const ANNE_CPR_FORMS = [ANNE_CPR, `${ANNE_CPR.slice(0, 6)}-${ANNE_CPR.slice(6)}`, `${ANNE_CPR.slice(0, 6)}%2D${ANNE_CPR.slice(6)}`]
const ANNE_RH_LABELS = ['RH-2024-000123', 'RH-2024-000123-01', 'RH-2024-000123-02', 'RH-2024-000123-03', 'RH-2021-004512']
const ANNE_RM_LABEL = 'RM-2019-000871'

const decodeHtml = (text: string) => text.replace(/&amp;/g, '&').replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>')

/** The public ids of the result rows, from the checkboxes of the results form. */
const checkboxIds = (html: string) => [...html.matchAll(/name="sample" value="([^"]+)"/g)].map((m) => m[1]!)
/** The labels of the result rows, from their links to the sample page. */
const rowLabels = (html: string) => [...html.matchAll(/<a href="\/medarbejder\/proever\/[0-9a-f-]{36}">([^<]+)<\/a>/g)].map((m) => decodeHtml(m[1]!))
/** The biobank column of the result rows. */
const rowBiobanks = (html: string) => [...html.matchAll(/data-title="Biobank">([^<]+)<\/td>/g)].map((m) => m[1]!)
const linkWithRel = (html: string, rel: string) => {
  const href = new RegExp(`<a href="([^"]+)" rel="${rel}">`).exec(html)?.[1]
  return href === undefined ? undefined : decodeHtml(href)
}

describe('find samples (staff search)', function () {
  this.timeout(60_000)

  let app: TestApp
  const agents: Record<string, Agent> = {}
  const users: Record<string, StaffSessionUser> = {}
  let biobankIds: Record<string, number>

  const select = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { type: QueryTypes.SELECT, replacements })

  /** The public ids the database holds for a filter, in the search's order: newest collected first, then by id. */
  const expectedIds = async (where: string, replacements: Record<string, unknown> = {}) =>
    (await select<{ public_id: string }>(`select s.public_id from samples s join biobanks b on b.id = s.biobank_id where ${where} order by s.collected_at desc, s.id desc`, replacements)).map(
      (r) => r.public_id,
    )

  /** Every row of a search, page by page through nextCursor; fails on a page bigger than the page size. */
  async function searchAll(user: StaffSessionUser, criteria: SampleCriteria): Promise<SearchPage['rows']> {
    const rows: SearchPage['rows'] = []
    let cursor: string | undefined
    for (let pages = 0; pages < 100; pages++) {
      const page = await app.services.search.search(user, criteria, cursor)
      expect(page.rows.length).to.be.at.most(SEARCH_PAGE_SIZE)
      rows.push(...page.rows)
      if (!page.nextCursor) return rows
      cursor = page.nextCursor
    }
    throw new Error('more than 100 pages')
  }

  const page = (who: string, path: string) => get(agents[who]!, `${app.baseUrl}${path}`)

  async function postCpr(who: string, cpr: string) {
    const form = await page(who, '/medarbejder/soeg')
    return agents[who]!.post(`${app.baseUrl}/medarbejder/soeg/cpr`).type('form').send({ _csrf: csrfTokenOf(form.text), cpr }).redirects(0).ok(() => true)
  }

  before(async function () {
    this.timeout(120_000) // the first run builds the test database template
    app = await startTestApp()
    for (const who of ['stine', 'henrik', 'mette', 'revisor']) {
      agents[who] = newAgent()
      await login(agents[who]!, app.baseUrl, 'staff', who)
    }
    const staff = await select<{ id: string; name: string; role: StaffSessionUser['role']; biobank_id: number | null; code: string | null }>(
      'select u.id, u.name, u.role, u.biobank_id, b.code from staff_users u left join biobanks b on b.id = u.biobank_id',
    )
    const byName = (name: string): StaffSessionUser => {
      const row = staff.find((s) => s.name === name)!
      return { kind: 'staff', staffUserId: Number(row.id), name: row.name, role: row.role, biobankId: row.biobank_id, biobankCode: row.code }
    }
    users.stine = byName('Stine Sørensen')
    users.henrik = byName('Henrik Holm')
    users.mette = byName('Mette Madsen')
    users.revisor = byName('Rikke Revisor')
    biobankIds = Object.fromEntries((await select<{ id: number; code: string }>('select id, code from biobanks')).map((b) => [b.code, b.id]))
  })

  after(async () => {
    await app?.close()
  })

  describe('criteria', () => {
    it('with no criteria, lists every sample of the registrar’s own biobank, newest first', async () => {
      const rows = await searchAll(users.stine!, {})
      expect(rows.map((r) => r.publicId)).to.deep.equal(await expectedIds("b.code = 'RH'"))
      expect(new Set(rows.map((r) => r.biobankCode))).to.deep.equal(new Set(['RH']))
    })

    it('filters by material type', async () => {
      const rows = await searchAll(users.stine!, { materialType: 'plasma' })
      expect(rows).to.not.be.empty
      expect(rows.every((r) => r.materialType === 'plasma')).to.equal(true)
      expect(rows.map((r) => r.publicId)).to.deep.equal(await expectedIds("b.code = 'RH' and s.material_type = 'plasma'"))
    })

    it('filters by collection dates as whole days in Denmark, both ends included', async () => {
      const rows = await searchAll(users.revisor!, { collectedFrom: '2023-01-01', collectedTo: '2024-03-12' })
      expect(rows).to.not.be.empty
      expect(rows.map((r) => r.publicId)).to.deep.equal(
        await expectedIds(`s.collected_at >= timestamp '2023-01-01 00:00' at time zone 'Europe/Copenhagen' and s.collected_at < timestamp '2024-03-13 00:00' at time zone 'Europe/Copenhagen'`),
      )
      // anne's whole blood, collected 2024-03-12 08:40 UTC, is on the last day.
      expect(rows.map((r) => r.label)).to.include('RH-2024-000123')
      expect((await searchAll(users.revisor!, { collectedTo: '2024-03-11', label: 'RH-2024-000123' })).length).to.equal(0)
    })

    it('counts a sample collected at 00:30 Danish time on the Danish day, not the UTC day before', async () => {
      const [anne] = await select<{ donor_id: string }>("select donor_id from samples where label = 'RH-2024-000123'")
      await select(
        `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature)
         values (:rh, 'RH-TZ-MIDNIGHT', :donor, 'serum', '2024-06-30T22:30:00Z', '-60to-85')`,
        { rh: biobankIds.RH, donor: anne!.donor_id },
      )
      try {
        const on = await app.services.search.search(users.stine!, { label: 'RH-TZ-MIDNIGHT', collectedFrom: '2024-07-01', collectedTo: '2024-07-01' })
        expect(on.rows.map((r) => r.label)).to.deep.equal(['RH-TZ-MIDNIGHT'])
        const before = await app.services.search.search(users.stine!, { label: 'RH-TZ-MIDNIGHT', collectedTo: '2024-06-30' })
        expect(before.rows).to.deep.equal([])
        // The page shows the Danish date too.
        const html = (await page('stine', '/medarbejder/soeg?label=RH-TZ-MIDNIGHT')).text
        expect(html).to.contain('<time datetime="2024-07-01">1. jul. 2024</time>')
      } finally {
        await select("delete from samples where label = 'RH-TZ-MIDNIGHT'")
      }
    })

    it('filters by availability', async () => {
      const rows = await searchAll(users.revisor!, { availability: 'reserved' })
      expect(rows).to.not.be.empty
      expect(rows.every((r) => r.availability === 'reserved')).to.equal(true)
      expect(rows.map((r) => r.publicId)).to.deep.equal(await expectedIds("s.availability = 'reserved'"))
    })

    it('finds one sample by its whole label', async () => {
      const { rows } = await app.services.search.search(users.stine!, { label: 'RH-2024-000123' })
      expect(rows.map((r) => r.label)).to.deep.equal(['RH-2024-000123'])
      expect(rows[0]).to.include({ materialType: 'whole-blood', lineage: 'primary', biobankCode: 'RH' })
    })

    it('lets the auditor choose one biobank, or search all of them', async () => {
      const rm = await searchAll(users.revisor!, { biobank: 'RM' })
      expect(rm.map((r) => r.publicId)).to.deep.equal(await expectedIds("b.code = 'RM'"))
      const all = await searchAll(users.revisor!, {})
      expect(all.map((r) => r.publicId)).to.deep.equal(await expectedIds('true'))
      expect(new Set(all.map((r) => r.biobankCode)).size).to.equal(5)
    })

    it('combines criteria (material type, dates, availability, biobank)', async () => {
      const criteria: SampleCriteria = { materialType: 'serum', collectedFrom: '2015-01-01', collectedTo: '2025-12-31', availability: 'available', biobank: 'RH' }
      const rows = await searchAll(users.revisor!, criteria)
      expect(rows).to.not.be.empty
      expect(rows.map((r) => r.publicId)).to.deep.equal(
        await expectedIds(
          `b.code = 'RH' and s.material_type = 'serum' and s.availability = 'available'
           and s.collected_at >= timestamp '2015-01-01 00:00' at time zone 'Europe/Copenhagen' and s.collected_at < timestamp '2026-01-01 00:00' at time zone 'Europe/Copenhagen'`,
        ),
      )
    })

    it('on the page: material types and availability in Danish, each row linked to its sample page', async () => {
      const response = await page('stine', '/medarbejder/soeg?materialType=whole-blood&label=RH-2024-000123')
      expect(response.status).to.equal(200)
      const [sample] = await select<{ public_id: string }>("select public_id from samples where label = 'RH-2024-000123'")
      expect(response.text).to.contain(`<a href="/medarbejder/proever/${sample!.public_id}">RH-2024-000123</a>`)
      expect(response.text).to.contain('<td data-title="Materialetype">Fuldblod</td>')
      expect(response.text).to.contain('<td data-title="Tilgængelighed">Tilgængelig</td>')
      expect(response.text).to.contain('<td data-title="Prøvetype">Primærprøve</td>')
      // The select offers every material type by its Danish name, the chosen one selected.
      expect(response.text).to.contain('<option value="whole-blood" selected>Fuldblod</option>')
      expect(response.text).to.contain('<option value="tissue-ffpe">Væv (formalinfikseret, paraffin)</option>')
    })
  })

  describe('invalid criteria', () => {
    it('shows each error next to its field and in a summary, with status 400 and no results', async () => {
      const response = await page('stine', '/medarbejder/soeg?materialType=blood&collectedFrom=2024-02-31&availability=lost')
      expect(response.status).to.equal(400)
      expect(response.text).to.contain('Der er fejl i søgningen')
      expect(response.text).to.match(/<a href="#search-materialType">Vælg en materialetype på listen\.<\/a>/)
      expect(response.text).to.match(/id="search-materialType-error">.*Vælg en materialetype på listen\./)
      expect(response.text).to.match(/id="search-collectedFrom-error">.*Skriv fra-datoen som år-måned-dag/)
      expect(response.text).to.match(/id="search-availability-error">/)
      expect(response.text).to.match(/<select class="form-select" id="search-materialType" name="materialType" aria-describedby="search-materialType-error" aria-invalid="true">/)
      // What was typed into a text field comes back, escaped.
      expect(response.text).to.contain('id="search-collectedFrom" name="collectedFrom" value="2024-02-31"')
      expect(checkboxIds(response.text)).to.deep.equal([])
      expect(response.text).not.to.contain('id="search-results-heading"')
    })

    it('refuses a to date before the from date, on the to date', async () => {
      const response = await page('stine', '/medarbejder/soeg?collectedFrom=2024-05-01&collectedTo=2024-04-30')
      expect(response.status).to.equal(400)
      expect(response.text).to.match(/id="search-collectedTo-error">.*Til-datoen skal være samme dag som fra-datoen eller senere\./)
      expect(response.text).not.to.contain('id="search-collectedFrom-error"')
    })

    it('answers in English when the page is English', async () => {
      const response = await page('stine', '/medarbejder/soeg?lang=en&materialType=blood')
      expect(response.status).to.equal(400)
      expect(response.text).to.contain('Choose a material type from the list.')
      await page('stine', '/medarbejder/soeg?lang=da')
    })

    it('treats SQL metacharacters in the label as text: a field error over HTTP, no rows from the query builder', async () => {
      for (const label of ["' or 1=1 --", "RH-2024-000123' or '1'='1", 'x; drop table samples; --']) {
        const response = await page('stine', `/medarbejder/soeg?label=${encodeURIComponent(label)}`)
        expect(response.status, label).to.equal(400)
        expect(response.text).to.contain('id="search-label-error"')
        expect(checkboxIds(response.text)).to.deep.equal([])
        // Shown again as typed, escaped.
        expect(response.text).to.contain(`name="label" value="${label.replace(/'/g, '&#39;')}"`)
      }
      // The service checks the criteria itself, whatever a caller passes.
      try {
        await app.services.search.search(users.stine!, { label: "' or 1=1 --" })
        expect.fail('an invalid label was searched')
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidCriteriaError)
      }
      // And the query builder never splices a value into SQL: the label is compared as a value, and matches nothing.
      const { sql, replacements } = buildSampleQuery({ label: "' or 1=1 --" }, { biobankIds: [biobankIds.RH!], limit: 10 })
      expect(sql).not.to.contain('1=1')
      expect(await select(sql, replacements)).to.deep.equal([])
      expect((await select<{ n: number }>('select count(*)::int as n from samples'))[0]!.n).to.be.greaterThan(300)
    })

    it('shows the first page, with a notice, for an edited page link', async () => {
      const response = await page('stine', '/medarbejder/soeg?cursor=not-a-real-cursor')
      expect(response.status).to.equal(200)
      expect(response.text).to.contain('Linket til siden var ikke gyldigt')
      const first = await page('stine', '/medarbejder/soeg')
      expect(checkboxIds(response.text)).to.deep.equal(checkboxIds(first.text))
      try {
        await app.services.search.search(users.stine!, {}, encodeCursor({ direction: 'after', key: { collectedAt: 'yesterday', id: '1' } }))
        expect.fail('a malformed cursor was accepted')
      } catch (error) {
        expect(error).to.be.instanceOf(InvalidCursorError)
      }
    })
  })

  describe('keyset paging', () => {
    it('pages through every RH sample with "Næste side": each exactly once, in order, 50 to a page', async () => {
      const expected = await expectedIds("b.code = 'RH'")
      expect(expected.length).to.be.greaterThan(SEARCH_PAGE_SIZE) // more than one page, or the test proves nothing
      const seen: string[] = []
      const pages: string[][] = []
      let path: string | undefined = '/medarbejder/soeg'
      while (path) {
        expect(path).not.to.match(/offset|page=/i)
        const response = await page('stine', path)
        expect(response.status).to.equal(200)
        const ids = checkboxIds(response.text)
        expect(ids.length).to.be.within(1, SEARCH_PAGE_SIZE)
        pages.push(ids)
        seen.push(...ids)
        path = linkWithRel(response.text, 'next')
        if (path) expect(new URLSearchParams(path.split('?')[1]).get('cursor')).to.match(/^[A-Za-z0-9_-]+$/)
        expect(pages.length).to.be.below(20)
      }
      expect(seen).to.deep.equal(expected)
      expect(pages.slice(0, -1).every((p) => p.length === SEARCH_PAGE_SIZE)).to.equal(true)
    })

    it('keeps the criteria in the page links and goes back with "Forrige side"', async () => {
      const criteria: SampleCriteria = { collectedFrom: '2000-01-01' }
      const first = await app.services.search.search(users.revisor!, criteria)
      expect(first.previousCursor).to.equal(undefined)
      const second = await app.services.search.search(users.revisor!, criteria, first.nextCursor)
      const third = await app.services.search.search(users.revisor!, criteria, second.nextCursor)
      const backToSecond = await app.services.search.search(users.revisor!, criteria, third.previousCursor)
      expect(backToSecond.rows).to.deep.equal(second.rows)
      const backToFirst = await app.services.search.search(users.revisor!, criteria, backToSecond.previousCursor)
      expect(backToFirst.rows).to.deep.equal(first.rows)
      expect(backToFirst.previousCursor).to.equal(undefined)

      const html = (await page('revisor', `/medarbejder/soeg?collectedFrom=2000-01-01&cursor=${second.nextCursor}`)).text
      expect(linkWithRel(html, 'next')).to.match(/^\/medarbejder\/soeg\?collectedFrom=2000-01-01&cursor=/)
      expect(linkWithRel(html, 'prev')).to.match(/^\/medarbejder\/soeg\?collectedFrom=2000-01-01&cursor=/)
      expect(html).to.contain('<a href="/medarbejder/soeg?collectedFrom=2000-01-01">Første side</a>')
      expect(rowLabels(html)).to.deep.equal(third.rows.map((r) => r.label))
    })

    it('uses an opaque cursor that holds only the key of the last row', () => {
      const keyset = { direction: 'after' as const, key: { collectedAt: '2024-03-12T08:40:00.000000Z', id: '42' } }
      const cursor = encodeCursor(keyset)
      expect(cursor).to.match(/^[A-Za-z0-9_-]+$/)
      expect(decodeCursor(cursor)).to.deep.equal(keyset)
      expect(decodeCursor(`${cursor}x`)).to.equal(undefined)
      expect(decodeCursor(Buffer.from('{"d":"a","t":"2024","i":"1 or 1=1"}').toString('base64url'))).to.equal(undefined)
    })
  })

  describe('search by CPR number', () => {
    const searchCprEvents = () => select<{ id: string; subject_donor_id: string | null; actor_staff_id: string; details: Record<string, unknown> }>("select * from audit_events where action = 'search.cpr' order by id")

    it('finds anne’s RH samples for stine, shows the number masked, and writes one audit event without the number', async () => {
      const logLinesBefore = capturedLogLines.length
      const eventsBefore = (await searchCprEvents()).length
      const response = await postCpr('stine', `${ANNE_CPR.slice(0, 6)}-${ANNE_CPR.slice(6)}`)

      // Answered directly: no redirect that could carry the number.
      expect(response.status).to.equal(200)
      expect(response.headers.location).to.equal(undefined)
      expect(response.text).to.contain('Prøver for CPR-nummer 150372-****')
      expect(rowLabels(response.text).sort()).to.deep.equal([...ANNE_RH_LABELS].sort())
      expect(rowLabels(response.text)).not.to.include(ANNE_RM_LABEL)
      expect(checkboxIds(response.text)).to.have.length(ANNE_RH_LABELS.length)
      for (const form of ANNE_CPR_FORMS) expect(response.text).not.to.contain(form)
      expect(response.text).to.contain('name="cpr" value=""')
      // Nothing on the page links anywhere with the number in it.
      for (const href of [...response.text.matchAll(/(?:href|action)="([^"]+)"/g)].map((m) => m[1]!)) {
        for (const form of ANNE_CPR_FORMS) expect(href).not.to.contain(form)
      }

      const events = await searchCprEvents()
      expect(events.length - eventsBefore).to.equal(1)
      const event = events.at(-1)!
      const [anne] = await select<{ donor_id: string }>("select donor_id from samples where label = 'RH-2024-000123'")
      expect(event.subject_donor_id).to.equal(anne!.donor_id)
      expect(Number(event.actor_staff_id)).to.equal(users.stine!.staffUserId)
      expect(event.details).to.deep.include({ found: true, samples: ANNE_RH_LABELS.length })
      const stored = JSON.stringify(event)
      for (const form of [ANNE_CPR, ANNE_CPR.slice(0, 6)]) expect(stored).not.to.contain(form)

      // No log line of the request holds the number, and the request was logged without a body.
      const lines = capturedLogLines.slice(logLinesBefore).join('\n')
      expect(lines).to.contain('/medarbejder/soeg/cpr')
      for (const form of ANNE_CPR_FORMS) expect(lines).not.to.contain(form)
    })

    it('shows the auditor anne’s samples in every biobank', async () => {
      const response = await postCpr('revisor', ANNE_CPR)
      expect(response.status).to.equal(200)
      expect(rowLabels(response.text).sort()).to.deep.equal([...ANNE_RH_LABELS, ANNE_RM_LABEL].sort())
    })

    it('audits a service call with its request id and the donor as subject, and shows mette only RM', async () => {
      const result = await app.services.search.searchByCpr(users.mette!, ANNE_CPR, 'req-test-1')
      expect(result.ok).to.equal(true)
      if (!result.ok) return
      expect(result.maskedCpr).to.equal('150372-****')
      expect(result.rows.map((r) => r.label)).to.deep.equal([ANNE_RM_LABEL])
      const [event] = await select<{ subject_donor_id: string | null }>("select * from audit_events where action = 'search.cpr' and request_id = 'req-test-1'")
      const [anne] = await select<{ donor_id: string }>("select donor_id from samples where label = :label", { label: ANNE_RM_LABEL })
      expect(Number(event?.subject_donor_id)).to.equal(Number(anne!.donor_id))
    })

    it('says “no samples” for a person unknown to the register, and still audits the search (no subject)', async () => {
      const before = (await searchCprEvents()).length
      const response = await postCpr('stine', '0101011234')
      expect(response.status).to.equal(200)
      expect(response.text).to.contain('Der er ingen prøver for dette CPR-nummer')
      expect(response.text).to.contain('010101-****')
      expect(response.text).not.to.contain('0101011234')
      const events = await searchCprEvents()
      expect(events.length - before).to.equal(1)
      expect(events.at(-1)!.subject_donor_id).to.equal(null)
      expect(events.at(-1)!.details).to.deep.include({ found: false })
    })

    it('refuses a malformed number next to the field, without echoing it and without a lookup', async () => {
      const before = (await searchCprEvents()).length
      const response = await postCpr('stine', '150372-45189')
      expect(response.status).to.equal(400)
      expect(response.text).to.match(/id="search-cpr-error">.*CPR-nummeret skal bestå af 10 cifre/)
      expect(response.text).to.contain('<a href="#search-cpr">')
      expect(response.text).not.to.contain('150372-45189')
      expect(response.text).to.contain('name="cpr" value=""')
      expect((await searchCprEvents()).length).to.equal(before)
    })

    it('shows at most the newest 500 samples of one person, and says how many there are', async () => {
      const carl = demoCitizen('carl')
      const [donor] = await select<{ id: string }>('select id from donors where cpr_hmac = :hmac', { hmac: app.services.cpr.hash(carl.cpr) })
      await select(
        `insert into samples (biobank_id, label, donor_id, material_type, collected_at, storage_temperature)
         select :rh, 'RH-CAP-' || n, :donor, 'serum', timestamptz '2020-01-01T12:00:00Z' + n * interval '1 day', '-60to-85' from generate_series(1, 505) n`,
        { rh: biobankIds.RH, donor: donor!.id },
      )
      try {
        const response = await postCpr('stine', carl.cpr)
        expect(response.status).to.equal(200)
        const labels = rowLabels(response.text)
        expect(labels).to.have.length(500)
        expect(labels[0]).to.equal('RH-CAP-505')
        expect(labels.at(-1)).to.equal('RH-CAP-6')
        expect(response.text).to.contain('Personen har 505 prøver. Vi viser de 500 nyeste.')
      } finally {
        await select("delete from samples where label like 'RH-CAP-%'")
      }
    })

    it('sends a GET of the CPR address (e.g. the language switch there) back to the search page', async () => {
      const response = await page('stine', '/medarbejder/soeg/cpr?lang=en')
      expect(response.status).to.equal(303)
      expect(response.headers.location).to.equal('/medarbejder/soeg')
      expect((await page('stine', '/medarbejder/soeg')).text).to.contain('<h1>Find samples</h1>')
      await page('stine', '/medarbejder/soeg?lang=da')
    })

    it('needs the CSRF token', async () => {
      const response = await agents.stine!.post(`${app.baseUrl}/medarbejder/soeg/cpr`).type('form').send({ cpr: ANNE_CPR }).redirects(0).ok(() => true)
      expect(response.status).to.equal(403)
      expect(response.text).not.to.contain('150372')
    })
  })

  describe('who may search what', () => {
    it('refuses stine (registrar, RH) a search of RM, and gives her no RM sample', async () => {
      const response = await page('stine', '/medarbejder/soeg?biobank=RM')
      expect(response.status).to.equal(403)
      expect(response.text).to.contain('Du har ikke adgang')
      expect(rowLabels(response.text)).to.deep.equal([])
      expect(response.text).not.to.contain(ANNE_RM_LABEL)
      try {
        await app.services.search.search(users.stine!, { biobank: 'RM' })
        expect.fail('stine searched RM')
      } catch (error) {
        expect(error).to.be.instanceOf(ForbiddenError)
      }
      expect((await page('stine', '/medarbejder/soeg?biobank=XX')).status).to.equal(403)
      // Her own biobank, asked for by name, is fine; and a label of RM is simply not found in RH.
      expect((await page('stine', '/medarbejder/soeg?biobank=RH')).status).to.equal(200)
      const rmLabel = await page('stine', `/medarbejder/soeg?label=${ANNE_RM_LABEL}`)
      expect(rowLabels(rmLabel.text)).to.deep.equal([])
    })

    it('shows registrars and admins only their own biobank, without a biobank choice', async () => {
      const stine = await page('stine', '/medarbejder/soeg')
      expect(stine.text).to.contain('Du søger i Region Hovedstadens Biobank.')
      expect(stine.text).not.to.contain('name="biobank"')
      expect(new Set(rowBiobanks(stine.text))).to.deep.equal(new Set(['RH']))
      const mette = await page('mette', '/medarbejder/soeg')
      expect(new Set(rowBiobanks(mette.text))).to.deep.equal(new Set(['RM']))
      const revisor = await page('revisor', '/medarbejder/soeg')
      expect(revisor.text).to.contain('<select class="form-select" id="search-biobank" name="biobank"')
      expect(new Set(rowBiobanks(revisor.text)).size).to.be.greaterThan(1)
    })

    it('refuses citizens, on the page and in the service', async () => {
      const anne = newAgent()
      await login(anne, app.baseUrl, 'citizen', 'anne')
      expect((await get(anne, `${app.baseUrl}/medarbejder/soeg`)).status).to.equal(403)
      const citizen: CitizenSessionUser = { kind: 'citizen', donorId: 1, name: 'Anne Andersen', loa: 'Substantial' }
      for (const attempt of [() => app.services.search.search(citizen, {}), () => app.services.search.searchByCpr(citizen, ANNE_CPR)]) {
        try {
          await attempt()
          expect.fail('a citizen searched')
        } catch (error) {
          expect(error).to.be.instanceOf(ForbiddenError)
        }
      }
    })

    it('offers label printing for the ticked rows, and export links of the criteria to the biobank admin only', async () => {
      const henrik = (await page('henrik', '/medarbejder/soeg?materialType=plasma&collectedFrom=2020-01-01')).text
      expect(henrik).to.match(/<form method="post" action="\/medarbejder\/etiketter"[^>]*>\s*<input type="hidden" name="_csrf" value="[^"]+">/)
      expect(henrik).to.match(/<button type="submit" class="button button-secondary" formaction="\/medarbejder\/etiketter" formmethod="post"[^>]*>Udskriv etiketter<\/button>/)
      const [id] = checkboxIds(henrik)
      expect(henrik).to.contain(`<label for="sample-${id}"><span class="sr-only">Vælg prøve `)
      expect(henrik).to.contain('href="/medarbejder/eksport.csv?materialType=plasma&amp;collectedFrom=2020-01-01"')
      expect(henrik).to.contain('href="/medarbejder/eksport.fhir.json?materialType=plasma&amp;collectedFrom=2020-01-01"')

      const stine = (await page('stine', '/medarbejder/soeg?materialType=plasma')).text
      expect(stine).to.contain('Udskriv etiketter')
      expect(stine).not.to.contain('/medarbejder/eksport')
      const revisor = (await page('revisor', '/medarbejder/soeg?materialType=plasma')).text
      expect(revisor).not.to.contain('/medarbejder/eksport')
    })
  })
})
