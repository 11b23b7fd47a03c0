// ASVS 4.0 V5.3.4/V5.3.5 (injection): SQL and LIKE metacharacters in every search field are data, never SQL:
// no 500, no row that the value itself would not find. The fields are read from the search forms of the pages
// (GET /medarbejder/soeg, POST /medarbejder/soeg/cpr, GET /medarbejder/revision) plus their paging cursors,
// and the exports take the search page's criteria.
import { expect } from 'chai'
import { headingOf, inBatches, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { parseForms } from './forms.ts'

/** Quotes, comments, statement breaks, LIKE wildcards and escapes, a placeholder, a NUL byte and a very long value. */
const SQL_PAYLOADS = [
  "' OR '1'='1",
  "1'; DROP TABLE samples; --",
  '" OR ""="',
  '1) OR (1=1',
  "' UNION SELECT cpr_encrypted FROM donors --",
  '%',
  '_',
  '\\%',
  ':label $1',
  '\u0000',
  'a'.repeat(5000),
] as const

const SAMPLE_LINK = /href="\/medarbejder\/proever\/[0-9a-f-]{36}"/g

/** Result rows of a search page (each links to its sample). */
const searchRows = (html: string) => (html.match(SAMPLE_LINK) ?? []).length
/** The actions of the rows of an audit page. */
const auditActions = (html: string) => [...html.matchAll(/<td><code>([^<]*)<\/code><\/td>/g)].map((m) => m[1]!)

describe('security: SQL metacharacters in search fields', function () {
  this.timeout(300_000)
  let ctx: SecurityContext

  before(async () => {
    ctx = await SecurityContext.start()
    // Some audit events to search among.
    await ctx.get(await ctx.as('henrik'), '/medarbejder/soeg')
  })
  after(async () => {
    await ctx?.close()
  })

  /** The names of the fields of the page's GET form (the search criteria). */
  async function criteriaOf(page: string, actor: 'henrik' | 'revisor'): Promise<string[]> {
    const response = await ctx.get(await ctx.as(actor), page)
    const form = parseForms(response.text).find((f) => f.method === 'GET')
    expect(form, `a search form on ${page}`).not.to.equal(undefined)
    return form!.fields.map((f) => f.name)
  }

  const harmless = (what: string, response: Response, failures: string[]) => {
    if (response.status >= 500) failures.push(`${what}: ${response.status}`)
    else if (response.status >= 400 && !isCleanPage(response)) failures.push(`${what}: ${response.status} without a clean page`)
  }

  for (const [page, actor] of [
    ['/medarbejder/soeg', 'henrik'],
    ['/medarbejder/soeg', 'revisor'],
  ] as const) {
    it(`GET ${page} as ${actor}: every criterion and the cursor take any value without a 500 or a row the value does not match`, async () => {
      const agent = await ctx.as(actor)
      const fields = [...(await criteriaOf(page, actor)), 'cursor']
      expect(fields).to.include.members(['label', 'materialType', 'collectedFrom', 'collectedTo', 'availability'])
      const failures: string[] = []
      for (const field of fields) {
        await inBatches(SQL_PAYLOADS, 4, async (payload) => {
          const response = await ctx.get(agent, `${page}?${new URLSearchParams({ [field]: payload })}`)
          const what = `${field}=${JSON.stringify(payload.slice(0, 40))}`
          harmless(what, response, failures)
          // No stored label, code or date equals any payload: a search for one finds nothing. A bad cursor shows
          // the first page and says so.
          if (response.status === 200 && field !== 'cursor' && searchRows(response.text) > 0) failures.push(`${what}: ${searchRows(response.text)} rows`)
          if (response.status === 200 && field === 'cursor' && !response.text.includes('alert-warning')) failures.push(`${what}: no notice about the page link`)
        })
      }
      expect(failures).to.deep.equal([])
    })
  }

  it('POST /medarbejder/soeg/cpr takes any value without a 500 and finds no one by it', async () => {
    const agent = await ctx.as('henrik')
    const failures: string[] = []
    for (const payload of [...SQL_PAYLOADS, "150372-4518' OR '1'='1", '1503724518 OR 1=1']) {
      const response = await ctx.postForm(agent, '/medarbejder/soeg/cpr', { _csrf: await ctx.csrf('henrik'), cpr: payload })
      const what = `cpr=${JSON.stringify(payload.slice(0, 40))}`
      harmless(what, response, failures)
      if (response.status !== 400) failures.push(`${what}: ${response.status} ${headingOf(response.text)} (not refused as a CPR number)`)
      if (searchRows(response.text) > 0) failures.push(`${what}: ${searchRows(response.text)} rows`)
    }
    expect(failures).to.deep.equal([])
  })

  it('GET /medarbejder/revision: every criterion and the cursor take any value without a 500 or a row the value does not match', async () => {
    const agent = await ctx.as('revisor')
    const fields = [...(await criteriaOf('/medarbejder/revision', 'revisor')), 'cursor']
    expect(fields).to.include.members(['action', 'actorKind', 'from', 'to', 'sampleLabel'])
    const failures: string[] = []
    for (const field of fields) {
      await inBatches(SQL_PAYLOADS, 4, async (payload) => {
        const response = await ctx.get(agent, `/medarbejder/revision?${new URLSearchParams({ [field]: payload })}`)
        const what = `${field}=${JSON.stringify(payload.slice(0, 40))}`
        harmless(what, response, failures)
        if (response.status === 200 && field !== 'cursor' && auditActions(response.text).length > 0) failures.push(`${what}: ${auditActions(response.text).length} rows`)
      })
    }
    // A real action still finds its rows, and only those (the check above would pass on a page that finds nothing).
    const found = await ctx.get(agent, '/medarbejder/revision?action=staff')
    expect(auditActions(found.text).length).to.be.greaterThan(0)
    expect(auditActions(found.text).every((a) => a === 'staff' || a.startsWith('staff.'))).to.equal(true)
    expect(failures).to.deep.equal([])
  })

  it('exports by label prefix treat LIKE wildcards as characters: "R_" and "%" find nothing, "RH" finds the RH samples', async () => {
    const henrik = await ctx.as('henrik')
    const rows = (response: Response) => response.text.split('\r\n').filter(Boolean).length - 1
    const all = await ctx.get(henrik, '/medarbejder/eksport.csv?label=RH')
    expect(all.status).to.equal(200)
    expect(rows(all)).to.be.greaterThan(10)
    for (const label of ['R_', 'R__', '_', '.']) {
      const response = await ctx.get(henrik, `/medarbejder/eksport.csv?${new URLSearchParams({ label })}`)
      expect(response.status, label).to.equal(200)
      expect(rows(response), label).to.equal(0)
    }
    for (const label of ['%', "RH' OR '1'='1", 'RH%']) {
      const response = await ctx.get(henrik, `/medarbejder/eksport.fhir.json?${new URLSearchParams({ label })}`)
      expect(response.status, label).to.equal(400)
      expect(isCleanPage(response), label).to.equal(true)
    }
  })
})
