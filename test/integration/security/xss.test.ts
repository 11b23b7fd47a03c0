// ASVS 4.0 V5.3.3 (output encoding): script payloads typed into every field of every form the app shows (read
// from the pages themselves, hidden fields and choices included, as a forged request could send them) are either
// refused with a clean 4xx page or stored; either way no page ever puts them out unescaped, and every page that
// shows a stored one (staff, auditor, the citizen the sample belongs to) and the exports show it encoded.
import { expect } from 'chai'
import type { Agent } from '../../support/oidcFlow.ts'
import { headingOf, isCleanPage, RAW_MARKUP, SecurityContext, XSS_PAYLOADS, type ActorId, type Response } from './harness.ts'
import { kindOf, ownPath, pageActorFor } from './exercise.ts'
import { completed, formPostingTo, isTypedField, parseForms, type Form } from './forms.ts'
import { audienceOf, fillPath, isStateChanging, paramsOf, routeKey, type AppRoute } from './routes.ts'
import { FREE_TEXT_FIELDS, PARAMS, STATE_CHANGES, TYPED_VALUES } from './table.ts'

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
    const actions = cases.map((c) => `${c.form.method} ${(c.form.action || c.page).replace(/[0-9a-f-]{36}/, ':publicId')}`)
    for (const expected of ['POST /medarbejder/proever/ny', 'POST /medarbejder/proever/:publicId/rediger', 'POST /medarbejder/proever/:publicId/haendelser', 'POST /medarbejder/proever/:publicId/afledt', 'POST /medarbejder/fravalg', 'POST /medarbejder/soeg/cpr', 'GET /medarbejder/soeg', 'GET /medarbejder/revision']) {
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
          }
        }
      }
    }
    expect(failures).to.deep.equal([])
  })

  it('stores free text where the forms take it (the event note), and shows it encoded on the page it lands on', async () => {
    const notes = stored.filter((s) => s.field === 'note')
    expect(notes.map((s) => s.payload.replace(/ xss\d+z$/, ''))).to.have.members([...XSS_PAYLOADS])
    const henrik = await ctx.as('henrik')
    for (const { payload, landing } of notes) {
      const page = await ctx.get(henrik, landing)
      expect(page.text, payload).to.include(escapeHtml(payload))
    }
    // Constrained fields (label, storage place, SPREC, diagnosis, dates, codes, hidden fields) stored none of them;
    // a new free-text field must be listed in FREE_TEXT_FIELDS (and so be followed onto every page below).
    expect(stored.filter((s) => !(s.field in FREE_TEXT_FIELDS)).map((s) => `${s.key} ${s.field}`)).to.deep.equal([])
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
