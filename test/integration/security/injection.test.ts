// ASVS 4.0 V5.3.4/V5.3.5 (injection): SQL and LIKE metacharacters in every search field are data, never SQL:
// no 500, no row that the value itself would not find. The fields are read from the search forms of the pages
// (GET /medarbejder/soeg, POST /medarbejder/soeg/cpr, GET /medarbejder/revision) plus their paging cursors,
// and the exports take the search page's criteria. The research release's labels (a pasted list, an API request),
// its criteria search, the API's project reference and the ids in research and API paths are data too: labels
// are stored exactly as written and match no sample, and a bad one is refused with 400.
import { expect } from 'chai'
import { headingOf, inBatches, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { parseForms } from './forms.ts'
import { apiSend } from './exercise.ts'
import { API, researchLabels, researchProject } from './table.ts'
import { labelProblem, labelsFromText } from '../../../server/services/eligibilityService.ts'

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

  /** The labels a check stored (as its proof), in the order asked, and what it decided for each. */
  const itemsOf = (checkId: string) =>
    ctx.query<{ label: string; outcome: string }>('select label, outcome from eligibility_check_items where check_id = :checkId order by position', { checkId })
  const countSamples = async () => Number((await ctx.query<{ n: string }>('select count(*) as n from samples'))[0]!.n)
  /** Each label once, at its first place. */
  const distinct = (labels: string[]) => [...new Set(labels)]

  it('POST /medarbejder/forskning/projekter/:projectId/tjek takes SQL metacharacters in a pasted list as labels: stored as written, matching no sample, the real label still eligible; a control character or an overlong label is refused (400)', async () => {
    const henrik = await ctx.as('henrik')
    const projectId = await researchProject(ctx)
    const [real] = await researchLabels(ctx, 1)
    const samples = await countSamples()
    const failures: string[] = []
    for (const payload of SQL_PAYLOADS) {
      const text = `${real}\n${payload}`
      const what = `labels ${JSON.stringify(payload.slice(0, 40))}`
      const response = await ctx.postForm(henrik, `/medarbejder/forskning/projekter/${projectId}/tjek`, { _csrf: await ctx.csrf('henrik'), labels: text })
      harmless(what, response, failures)
      const labels = distinct(labelsFromText(text))
      if (labels.some((label) => labelProblem(label) !== null)) {
        if (response.status !== 400 || !isCleanPage(response)) failures.push(`${what}: ${response.status} ${headingOf(response.text)} (not refused)`)
        continue
      }
      const checkId = /\/tjek\/([0-9a-f-]{36})$/.exec(response.headers.location ?? '')?.[1]
      if (response.status !== 303 || !checkId) {
        failures.push(`${what}: ${response.status} ${headingOf(response.text)}`)
        continue
      }
      const items = await itemsOf(checkId)
      if (JSON.stringify(items.map((i) => i.label)) !== JSON.stringify(labels)) failures.push(`${what}: stored ${JSON.stringify(items.map((i) => i.label))}`)
      if (JSON.stringify(items.map((i) => i.outcome)) !== JSON.stringify(labels.map((l) => (l === real ? 'eligible' : 'unknown')))) failures.push(`${what}: decided ${items.map((i) => i.outcome).join(' ')}`)
    }
    expect(await countSamples()).to.equal(samples)
    expect(failures).to.deep.equal([])
  })

  it('POST /api/v1/eligibility takes SQL metacharacters as labels (stored as written, matching no sample) and as the project reference (404), never a 500', async () => {
    const route = { method: 'POST', path: '/api/v1/eligibility' }
    const headers = await API.headers(ctx)
    const projectId = await researchProject(ctx)
    const [real] = await researchLabels(ctx, 1)
    const samples = await countSamples()
    const failures: string[] = []
    const fine = SQL_PAYLOADS.filter((payload) => labelProblem(payload) === null)
    const answer = await apiSend(ctx, route, { headers, body: { project: projectId, labels: [real, ...fine] } })
    expect(answer.status, answer.text).to.equal(201)
    const body = answer.body as { checkId: string; eligible: string[]; excluded: { unknown: number } }
    expect(body.eligible).to.deep.equal([real])
    expect(body.excluded.unknown).to.equal(distinct([...fine]).length)
    expect((await itemsOf(body.checkId)).map((i) => i.label)).to.deep.equal(distinct([real!, ...fine]))
    // A label with a control character or over 64 characters: the whole request refused, naming the label.
    for (const payload of SQL_PAYLOADS.filter((p) => labelProblem(p) !== null)) {
      const response = await apiSend(ctx, route, { headers, body: { project: projectId, labels: [real, payload] } })
      const details = (response.body as { details?: { path: unknown[] }[] }).details
      if (response.status !== 400 || JSON.stringify(details?.[0]?.path) !== JSON.stringify(['labels', 1])) failures.push(`label ${JSON.stringify(payload.slice(0, 40))}: ${response.status} ${response.text.slice(0, 200)}`)
    }
    // The project named by a reference that is SQL: no such project.
    const before = await ctx.fingerprint()
    for (const project of [...SQL_PAYLOADS.filter((p) => p.length <= 100 && p !== '\u0000'), `${projectId} OR 1=1`, `${projectId}'--`, "SEC-RH-1' --"]) {
      const response = await apiSend(ctx, route, { headers, body: { project, labels: [real] } })
      if (response.status !== 404 || !/^application\/json/.test(String(response.headers['content-type']))) failures.push(`project ${JSON.stringify(project)}: ${response.status} ${response.text.slice(0, 200)}`)
    }
    // And as the id of a check to read again.
    for (const payload of SQL_PAYLOADS) {
      const response = await apiSend(ctx, { method: 'GET', path: '/api/v1/eligibility/:checkId' }, { headers, path: `/api/v1/eligibility/${encodeURIComponent(payload)}` })
      if (response.status !== 404) failures.push(`check id ${JSON.stringify(payload.slice(0, 40))}: ${response.status}`)
    }
    await ctx.settled()
    expect(SecurityContext.changedTables(before, await ctx.fingerprint()), 'refused requests stored nothing').to.deep.equal([])
    expect(await countSamples()).to.equal(samples)
    expect(failures).to.deep.equal([])
  })

  it('POST /medarbejder/forskning/soegning takes the label prefix literally (LIKE wildcards are characters) and refuses other metacharacters (400), never a 500; the ids in research paths too', async () => {
    const henrik = await ctx.as('henrik')
    const project = String(await researchProject(ctx))
    const failures: string[] = []
    const before = await ctx.fingerprint()
    for (const label of [...SQL_PAYLOADS, 'R_', 'R__', '.', 'RH%']) {
      const response = await ctx.postForm(henrik, '/medarbejder/forskning/soegning', { _csrf: await ctx.csrf('henrik'), project, label })
      const what = `label=${JSON.stringify(label.slice(0, 40))}`
      harmless(what, response, failures)
      // No sample label starts with any of them, so no check can be made: refused as criteria or as "no samples".
      if (response.status !== 400) failures.push(`${what}: ${response.status} ${response.headers.location ?? ''} ${headingOf(response.text)}`)
    }
    for (const payload of SQL_PAYLOADS) {
      for (const path of [`/medarbejder/forskning/projekter/${encodeURIComponent(payload)}`, `/medarbejder/forskning/tjek/${encodeURIComponent(payload)}`, `/medarbejder/forskning/tjek/${encodeURIComponent(payload)}/eligible.csv`]) {
        const response = await ctx.get(henrik, path)
        if (response.status !== 404 || !isCleanPage(response)) failures.push(`${path.slice(0, 80)}: ${response.status}`)
      }
    }
    await ctx.settled()
    expect(SecurityContext.changedTables(before, await ctx.fingerprint()), 'refused requests stored nothing').to.deep.equal([])
    // The control: a real prefix makes a check of exactly the samples it starts.
    const response = await ctx.postForm(henrik, '/medarbejder/forskning/soegning', { _csrf: await ctx.csrf('henrik'), project, label: 'RH-2024' })
    expect(response.status, headingOf(response.text)).to.equal(303)
    const items = await itemsOf(/\/tjek\/([0-9a-f-]{36})$/.exec(response.headers.location ?? '')![1]!)
    expect(items.length).to.be.greaterThan(0)
    expect(items.every((i) => i.label.startsWith('RH-2024'))).to.equal(true)
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
