// ASVS 4.0 V5.3.3 (output encoding): script payloads typed into every field of every form the app shows (read
// from the pages themselves, hidden fields and choices included, as a forged request could send them) are either
// refused with a clean 4xx page or stored; either way no page ever puts them out unescaped, and every page that
// shows a stored one (staff, auditor, the citizen the sample belongs to) and the exports show it encoded.
import { expect } from 'chai'
import { newAgent, type Agent } from '../../support/oidcFlow.ts'
import { freshCpr, headingOf, isCleanPage, RAW_MARKUP, SecurityContext, XSS_PAYLOADS, type ActorId, type Response } from './harness.ts'
import { kindOf, ownPath, pageActorFor } from './exercise.ts'
import { completed, formPostingTo, isTypedField, parseForms, type Form } from './forms.ts'
import { audienceOf, fillPath, isStateChanging, paramsOf, routeKey, type AppRoute } from './routes.ts'
import { FREE_TEXT_FIELDS, importCsv, PARAMS, researchLabels, STATE_CHANGES, STORED_NOT_SHOWN, TYPED_VALUES } from './table.ts'

/** How EJS's `<%= %>` encodes text. */
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!)

const isHtml = (response: Response) => /text\/html/.test(String(response.headers['content-type'] ?? ''))

/** What in an HTML answer shows a payload unescaped. */
const rawMarkupIn = (html: string) => RAW_MARKUP.filter((m) => html.includes(m))

interface FormCase {
  actor: ActorId
  page: string
  form: Form
}

describe('security: script payloads in every form field', function () {
  this.timeout(600_000)
  let ctx: SecurityContext
  let routes: AppRoute[]
  const cases: FormCase[] = []
  /** Payloads the app accepted and stored: which field, and the page the browser was sent to. */
  const stored: { key: string; field: string; payload: string; landing: string }[] = []
  let serial = 0

  /** Whether any table holds `marker` (a stored payload is found by the marker it carries). */
  async function inDatabase(marker: string): Promise<boolean> {
    const tables = await ctx.query<{ name: string }>("select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'sessions'")
    for (const { name } of tables) {
      const [row] = await ctx.query<{ n: string }>(`select count(*) as n from "${name}" t where t::text like :pattern`, { pattern: `%${marker}%` })
      if (Number(row!.n) > 0) return true
    }
    return false
  }

  before(async () => {
    ctx = await SecurityContext.start()
    routes = ctx.routes()
    // Every form of every page a user can open, once per (method, action, fields).
    const seen = new Set<string>()
    for (const route of routes.filter((r) => !isStateChanging(r) && ['public', 'auth', 'citizen', 'staff'].includes(audienceOf(r.path)))) {
      const actor = pageActorFor(route)
      const agent = actor ? await ctx.as(actor) : undefined
      const { path } = await ownPath(ctx, route)
      const page = await ctx.get(agent, path)
      if (page.status !== 200 || !isHtml(page)) continue
      for (const form of parseForms(page.text)) {
        const fields = form.fields.filter((f) => f.name !== '_csrf')
        if (fields.length === 0) continue
        const signature = `${form.method} ${(form.action || path).split('?')[0]} ${fields.map((f) => f.name).join(',')}`
        if (seen.has(signature)) continue
        seen.add(signature)
        cases.push({ actor: actor ?? 'anne', page: path, form })
      }
    }
  })
  after(async () => {
    await ctx?.close()
  })

  it('finds the forms to fill in, the staff sample forms among them', () => {
    const actions = cases.map((c) => `${c.form.method} ${(c.form.action || c.page).replace(/[0-9a-f-]{36}/, ':publicId').replace(/\/projekter\/\d+/, '/projekter/:projectId')}`)
    for (const expected of [
      'POST /medarbejder/proever/ny',
      'POST /medarbejder/proever/:publicId/rediger',
      'POST /medarbejder/proever/:publicId/haendelser',
      'POST /medarbejder/proever/:publicId/afledt',
      'POST /medarbejder/fravalg',
      'POST /medarbejder/soeg/cpr',
      'GET /medarbejder/soeg',
      'GET /medarbejder/revision',
      'POST /medarbejder/forskning/projekter',
      'POST /medarbejder/forskning/projekter/:projectId/tjek',
      'POST /medarbejder/forskning/soegning',
      'POST /medarbejder/forskning/api-noegler',
    ]) {
      expect(actions, expected).to.include(expected)
    }
  })

  it('answers a payload in any field with a clean page (stored, or refused with 4xx), never putting it out unescaped', async () => {
    const failures: string[] = []
    for (const { actor, page, form } of cases) {
      const agent = await ctx.as(actor)
      const action = form.action || page
      const key = `${form.method} ${action.split('?')[0]}`
      // The form as the page shows it; fetched again after an accepted submission (its version and one-time token change).
      const shown: { form?: Form } = {}
      const refresh = async () => {
        const fresh = await ctx.get(agent, page)
        shown.form = form.method === 'POST' ? formPostingTo(fresh.text, action, page) : parseForms(fresh.text).find((f) => f.method === 'GET' && (f.action || page) === action)
        if (!shown.form) failures.push(`${key}: the form is gone from ${page} (${fresh.status})`)
      }
      await refresh()
      for (const field of form.fields.filter((f) => f.name !== '_csrf')) {
        // Both payloads where a person types; the attribute breaker where the page chose the value (a forged
        // request can still send anything there).
        const payloads = isTypedField(field) ? XSS_PAYLOADS : XSS_PAYLOADS.slice(1)
        for (const base of payloads) {
          const marker = `xss${++serial}z`
          const payload = `${base} ${marker}`
          const current = shown.form
          if (!current) continue
          const values = { ...completed(current, TYPED_VALUES), [field.name]: payload }
          const response = await submit(agent, actor, current, action, values)
          const what = `${key} with ${JSON.stringify(payload)} in ${field.name}`
          if (response.status >= 500) failures.push(`${what}: ${response.status}`)
          if (isHtml(response) && rawMarkupIn(response.text).length > 0) failures.push(`${what}: the answer holds ${rawMarkupIn(response.text).join(' ')}`)
          if (response.status >= 400 && response.status < 500 && !isCleanPage(response)) failures.push(`${what}: ${response.status} without a clean page`)
          if (response.status >= 300 && response.status < 400) {
            const landing = response.headers.location ?? ''
            const next = await ctx.get(agent, landing)
            if (isHtml(next) && rawMarkupIn(next.text).length > 0) failures.push(`${what}: ${landing} holds ${rawMarkupIn(next.text).join(' ')}`)
            await ctx.settled()
            if (form.method === 'POST' && (await inDatabase(marker))) stored.push({ key, field: field.name, payload, landing })
            await refresh()
          } else if (form.method === 'POST' && response.status >= 200 && response.status < 300) {
            // Answered in place (a new API key is shown once, never redirected to): the form's page shows the result.
            await ctx.settled()
            if (await inDatabase(marker)) stored.push({ key, field: field.name, payload, landing: page })
            await refresh()
          }
        }
      }
    }
    expect(failures).to.deep.equal([])
  })

  it('stores free text where the forms take it (event note, research project, API key name) and shows it encoded on the page it lands on; stored labels of a check are shown nowhere', async () => {
    const henrik = await ctx.as('henrik')
    const failures: string[] = []
    for (const field of Object.keys(FREE_TEXT_FIELDS)) {
      const ofField = stored.filter((s) => s.field === field)
      expect(ofField.map((s) => s.payload.replace(/ xss\d+z$/, '')), field).to.have.members([...XSS_PAYLOADS])
      for (const { payload, landing } of ofField) {
        const page = await ctx.get(henrik, landing)
        if (!page.text.includes(escapeHtml(payload))) failures.push(`${field}: ${landing} does not show ${JSON.stringify(payload)} encoded`)
      }
    }
    // The labels of a check are its proof, stored; its answer shows counts and eligible sample labels only.
    for (const field of Object.keys(STORED_NOT_SHOWN)) {
      const ofField = stored.filter((s) => s.field === field)
      expect(ofField.length, field).to.be.greaterThan(0)
      for (const { payload, landing } of ofField) {
        const page = await ctx.get(henrik, landing)
        const marker = / (xss\d+z)$/.exec(payload)![1]!
        if (page.status !== 200 || page.text.includes(marker)) failures.push(`${field}: ${landing} (${page.status}) shows the labels of the check`)
      }
    }
    expect(failures).to.deep.equal([])
    // Constrained fields (label, storage place, SPREC, diagnosis, dates, codes, hidden fields) stored none of them;
    // a new free-text field must be listed in FREE_TEXT_FIELDS (and so be followed onto every page below).
    expect(stored.filter((s) => !(s.field in FREE_TEXT_FIELDS) && !(s.field in STORED_NOT_SHOWN)).map((s) => `${s.key} ${s.field}`)).to.deep.equal([])
  })

  it('shows stored payloads encoded on every page and keeps them out of HTML in every download: staff, auditor, and the citizen whose sample it is', async () => {
    expect(stored.length, 'something was stored').to.be.greaterThan(0)
    const sample = await PARAMS.staff.publicId!.own(ctx)
    const viewers: { actor: ActorId; audience: string }[] = [
      { actor: 'henrik', audience: 'staff' },
      { actor: 'revisor', audience: 'staff' },
      { actor: 'anne', audience: 'citizen' },
    ]
    const failures: string[] = []
    let pages = 0
    let shownEncoded = 0
    for (const { actor, audience } of viewers) {
      const agent = await ctx.as(actor)
      for (const route of routes.filter((r) => !isStateChanging(r) && audienceOf(r.path) === audience)) {
        // Ids: the sample with the payloads; any other id as the viewer's own.
        const values: Record<string, string> = {}
        for (const name of paramsOf(route.path)) values[name] = name === 'publicId' ? sample : await PARAMS[audienceOf(route.path)][name]!.own(ctx)
        const path = fillPath(route.path, values)
        const response = await ctx.get(agent, path)
        if (response.status >= 500) failures.push(`${actor} ${routeKey(route)}: ${response.status}`)
        if (response.status !== 200) continue
        pages += 1
        failures.push(...checkAnswer(`${actor} ${path}`, response))
        if (isHtml(response) && stored.some((s) => response.text.includes(escapeHtml(s.payload)))) shownEncoded += 1
      }
    }
    // The exports of the whole biobank, with every sample the suite touched.
    const henrik = await ctx.as('henrik')
    for (const path of ['/medarbejder/eksport.csv', '/medarbejder/eksport.fhir.json']) {
      const response = await ctx.get(henrik, path)
      expect(response.status, path).to.equal(200)
      failures.push(...checkAnswer(`henrik ${path}`, response))
      const text = response.text ?? String(response.body)
      if (path.endsWith('.csv')) {
        // Every record has the header's number of cells: a payload cannot break out of its cell.
        const lines = text.split('\r\n').filter(Boolean)
        const cells = (line: string) => [...line.matchAll(/(?:^|,)("(?:[^"]|"")*"|[^,]*)/g)].length
        for (const line of lines) if (cells(line) !== cells(lines[0]!)) failures.push(`${path}: a record with ${cells(line)} cells: ${line}`)
      } else {
        JSON.parse(text)
      }
    }
    expect(pages).to.be.greaterThan(5)
    expect(shownEncoded, 'pages that show a stored payload, encoded').to.be.greaterThan(0)
    expect(failures).to.deep.equal([])
  })

  async function submit(agent: Agent, actor: ActorId, form: Form, action: string, values: Record<string, string>): Promise<Response> {
    if (form.method === 'GET') {
      const url = `${action.split('?')[0]}?${new URLSearchParams(values).toString()}`
      return ctx.get(agent, url)
    }
    const body = { ...values, _csrf: await ctx.csrfOf(agent, kindOf(actor)) }
    if (form.enctype !== 'multipart/form-data') return ctx.postForm(agent, action, body)
    // An upload form: its fields as multipart, with the file the route's table entry sends (if it has one).
    let request = agent.post(ctx.url(action)).redirects(0).ok(() => true)
    for (const [name, value] of Object.entries(body)) request = request.field(name, value)
    const upload = Object.entries(STATE_CHANGES).find(([key]) => new RegExp(`^POST ${key.slice(5).replace(/:[A-Za-z_$][\w$]*/g, '[^/]+')}$`).test(`POST ${action.split('?')[0]}`))?.[1].upload
    return upload ? request.attach(upload.field, upload.content(), { filename: upload.filename, contentType: upload.contentType }) : request
  }

  /** No unescaped payload in HTML; anything else is a download a browser will not render as a page. */
  function checkAnswer(what: string, response: Response): string[] {
    if (isHtml(response)) return rawMarkupIn(response.text).map((m) => `${what}: holds ${m} (${headingOf(response.text)})`)
    const problems: string[] = []
    const type = String(response.headers['content-type'] ?? '')
    if (!/^(application\/(json|fhir\+json)|text\/csv)/.test(type)) problems.push(`${what}: unexpected content type ${type}`)
    if (response.headers['x-content-type-options'] !== 'nosniff') problems.push(`${what}: no nosniff`)
    if (!/^attachment/.test(String(response.headers['content-disposition'] ?? '')) && !/^\/(healthz|readyz)/.test(what.split(' ')[1] ?? '')) {
      problems.push(`${what}: a ${type} answer that is not a download`)
    }
    return problems
  }
})

// The research release and the API keep what an admin typed (a project's title, reference and approval, a key's
// name) and show it on several pages, in the page title, in an API check's "by" line, and put the reference into
// the eligible CSV's file name; an import job shows the uploaded file's name and its bad cells. Each value carries
// both payloads and is followed onto every research page read from the app.
describe('security: script payloads in research projects, API key names and import files', function () {
  this.timeout(300_000)
  let ctx: SecurityContext
  const withPayloads = (marker: string) => `${XSS_PAYLOADS[0]} ${XSS_PAYLOADS[1]} ${marker}`
  const typed = { title: withPayloads('xsstitle'), reference: withPayloads('xssref'), approvalId: withPayloads('xssapproval'), name: withPayloads('xsskey') }
  let projectId = ''
  const checks: Record<'api' | 'web', string> = { api: '', web: '' }
  const checkIdOf = (location: string | undefined) => /\/tjek\/([0-9a-f-]{36})$/.exec(location ?? '')?.[1] ?? ''

  before(async () => {
    ctx = await SecurityContext.start()
    const henrik = await ctx.as('henrik')
    const token = await ctx.csrf('henrik')
    // The project and the key, through their forms.
    const created = await ctx.postForm(henrik, '/medarbejder/forskning/projekter', { _csrf: token, title: typed.title, reference: typed.reference, approvalId: typed.approvalId, purpose: 'material', duoCode: '' })
    expect(created.status, headingOf(created.text)).to.equal(303)
    projectId = /\/projekter\/(\d+)$/.exec(created.headers.location ?? '')![1]!
    const issued = await ctx.postForm(henrik, '/medarbejder/forskning/api-noegler', { _csrf: token, name: typed.name })
    expect(issued.status, headingOf(issued.text)).to.equal(200)
    const key = /value="(bbr_[A-Za-z0-9_-]{43})"/.exec(issued.text)![1]!
    // A check by that key naming the project by its reference, and one pasted on the web; the payloads among the labels.
    const labels = [...(await researchLabels(ctx)), ...XSS_PAYLOADS]
    const answer = await newAgent()
      .post(ctx.url('/api/v1/eligibility'))
      .set('Authorization', `Bearer ${key}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ project: typed.reference, labels }))
      .ok(() => true)
    expect(answer.status, answer.text).to.equal(201)
    expect(answer.text, 'the labels of excluded or unknown samples are not answered').not.to.match(/script|onerror/)
    checks.api = (answer.body as { checkId: string }).checkId
    const pasted = await ctx.postForm(henrik, `/medarbejder/forskning/projekter/${projectId}/tjek`, { _csrf: token, labels: labels.join('\n') })
    expect(pasted.status, headingOf(pasted.text)).to.equal(303)
    checks.web = checkIdOf(pasted.headers.location)
  })
  after(async () => {
    await ctx?.close()
  })

  it('shows them encoded, once, on every research page that shows them (the page title too), and keeps them out of the eligible CSV and its file name', async () => {
    const henrik = await ctx.as('henrik')
    const failures: string[] = []
    const shownOn: Record<string, string[]> = Object.fromEntries(Object.keys(typed).map((field) => [field, []]))
    const research = ctx.routes().filter((r) => !isStateChanging(r) && r.path.startsWith('/medarbejder/forskning'))
    expect(research.length).to.be.greaterThan(5)
    for (const route of research) {
      for (const checkId of paramsOf(route.path).includes('checkId') ? [checks.api, checks.web] : ['']) {
        const path = fillPath(route.path, Object.fromEntries(paramsOf(route.path).map((name) => [name, name === 'checkId' ? checkId : projectId])))
        const response = await ctx.get(henrik, path)
        if (response.status !== 200) {
          failures.push(`${path}: ${response.status} ${headingOf(response.text)}`)
          continue
        }
        if (isHtml(response)) {
          failures.push(...rawMarkupIn(response.text).map((m) => `${path}: holds ${m}`))
          for (const [field, value] of Object.entries(typed)) {
            if (response.text.includes(escapeHtml(value))) shownOn[field]!.push(route.path)
            if (response.text.includes(escapeHtml(escapeHtml(value)))) failures.push(`${path}: shows ${field} escaped twice`)
          }
          const title = /<title>([^<]*)<\/title>/.exec(response.text)?.[1] ?? ''
          if (/[<>"']/.test(title)) failures.push(`${path}: a page title with markup: ${title}`)
          if (route.path === '/medarbejder/forskning/projekter/:projectId' && !title.includes(escapeHtml(typed.reference))) failures.push(`${path}: the page title does not name the reference: ${title}`)
        } else {
          // The eligible CSV: a download whose file name and records are sample labels only.
          const disposition = String(response.headers['content-disposition'] ?? '')
          if (!/^attachment; filename="[A-Za-z0-9._-]+"$/.test(disposition)) failures.push(`${path}: Content-Disposition ${disposition}`)
          if (!/^text\/csv/.test(String(response.headers['content-type']))) failures.push(`${path}: ${response.headers['content-type']}`)
          if (response.headers['x-content-type-options'] !== 'nosniff') failures.push(`${path}: no nosniff`)
          const lines = response.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean)
          if (lines[0] !== 'sample_label' || lines.length < 2) failures.push(`${path}: ${lines.length} lines, header ${lines[0]}`)
          for (const line of lines.slice(1)) if (!/^[A-Za-z0-9._-]+$/.test(line)) failures.push(`${path}: a record that is not a sample label: ${line}`)
        }
      }
    }
    expect(failures).to.deep.equal([])
    // Where each value must be seen (so a page that stopped showing it, or showed it double-escaped, is noticed).
    const index = '/medarbejder/forskning'
    const project = '/medarbejder/forskning/projekter/:projectId'
    const check = '/medarbejder/forskning/tjek/:checkId'
    expect(shownOn.title).to.include.members([index, project, check, '/medarbejder/forskning/soegning'])
    expect(shownOn.reference).to.include.members([index, project, check, '/medarbejder/forskning/soegning'])
    expect(shownOn.approvalId).to.include.members([index, project])
    // The key's name on the keys page, and as the "by" of its check (the check page and the project's checks).
    expect(shownOn.name).to.include.members(['/medarbejder/forskning/api-noegler', project, check])
  })

  it("shows them encoded in the auditor's audit trail (the project's and the key's events)", async () => {
    const revisor = await ctx.as('revisor')
    for (const action of ['research', 'apiclient']) {
      const page = await ctx.get(revisor, `/medarbejder/revision?action=${action}`)
      expect(page.status, action).to.equal(200)
      expect(rawMarkupIn(page.text), action).to.deep.equal([])
      expect(page.text, action).to.include(action === 'research' ? 'xssref' : 'xsskey')
    }
  })

  it("shows an import's file name and its refused cells encoded on the job page", async () => {
    const henrik = await ctx.as('henrik')
    const csvCell = (value: string) => `"${value.replace(/"/g, '""')}"`
    // A payload as the material type and as the storage temperature: both refused, and quoted in the job's issues.
    const file = importCsv([`SEC-XSS-1,${freshCpr()},${XSS_PAYLOADS[0]},2025-03-12,${csvCell(XSS_PAYLOADS[1])},,1,mL,,,,available`])
    const upload = await henrik
      .post(ctx.url('/medarbejder/import'))
      .field('_csrf', await ctx.csrf('henrik'))
      .field('mode', 'dry-run')
      .attach('file', file, { filename: `${XSS_PAYLOADS[1]}.csv`, contentType: 'text/csv' })
      .redirects(0)
      .ok(() => true)
    expect(upload.status, headingOf(upload.text)).to.equal(303)
    await ctx.services.imports.idle()
    const page = await ctx.get(henrik, upload.headers.location!)
    expect(page.status).to.equal(200)
    expect(rawMarkupIn(page.text)).to.deep.equal([])
    expect(page.text, 'the file name').to.include(escapeHtml(`${XSS_PAYLOADS[1]}.csv`))
    for (const payload of XSS_PAYLOADS) expect(page.text, payload).to.include(escapeHtml(payload))
  })
})
