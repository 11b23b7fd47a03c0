// ASVS 4.0 V4.1/V4.2 (access control, IDOR): for every route read from the app,
//   - a citizen route that takes an id answers another citizen's id exactly like an id that does not exist (404),
//   - a staff route refuses a citizen (403), and an id of another biobank's object gets the status its service
//     documents (404 for samples, paper receipts, API keys and import jobs: "all look the same"; 403 for research
//     projects and checks),
//   - the auditor reads but changes nothing (403 on every state-changing staff route that is not a read); research
//     release is the biobank admin's alone (the registrar and the auditor get 403 on every research route),
//   - an import job is shown to the user who started it only,
//   - an API route refuses a missing, malformed, invented or revoked key (401), and a key of another biobank gets
//     404 for RH's checks and projects,
// and none of the refused requests changes anything.
import { expect } from 'chai'
import { comparable, headingOf, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { after as snapshotAfter, apiSend, before as snapshotBefore, differences, ownPath, pageActorFor, prepareChange, send, type PreparedChange } from './exercise.ts'
import { audienceOf, fillPath, isStateChanging, paramsOf, routeKey, type AppRoute } from './routes.ts'
import { API, PARAMS, researchCheck, researchProject, STATE_CHANGES } from './table.ts'
import type { Agent } from '../../support/oidcFlow.ts'

describe('security: access control on every route', function () {
  this.timeout(300_000)
  let ctx: SecurityContext
  let routes: AppRoute[]

  before(async () => {
    ctx = await SecurityContext.start()
    routes = ctx.routes()
  })
  after(async () => {
    await ctx?.close()
  })

  const of = (audience: string) => routes.filter((r) => audienceOf(r.path) === audience)
  const withIds = (list: AppRoute[]) => list.filter((r) => paramsOf(r.path).length > 0)

  /** The request of `route` as `agent` with `_csrf` of that agent's session (state-changing) or a plain GET. */
  async function request(route: AppRoute, agent: Agent, kind: 'citizen' | 'staff', path: string, change?: PreparedChange): Promise<Response> {
    if (!isStateChanging(route)) return ctx.get(agent, path)
    return send(ctx, change!, { agent, path, extra: { _csrf: await ctx.csrfOf(agent, kind) } })
  }

  /**
   * Sends `route` as `agent` with `params` (name → id) replacing the own ids one at a time; returns, per id, the
   * answer and whether anything changed.
   */
  async function tryIds(route: AppRoute, agent: Agent, kind: 'citizen' | 'staff', ids: (name: string) => Promise<string[]>) {
    const own = await ownPath(ctx, route)
    const change = isStateChanging(route) ? await prepareChange(ctx, route) : undefined
    const results: { name: string; id: string; response: Response; changed: string[] }[] = []
    for (const name of paramsOf(route.path)) {
      for (const id of await ids(name)) {
        const path = fillPath(route.path, { ...own.values, [name]: id })
        const start = await snapshotBefore(ctx, agent, kind === 'citizen' ? 'dorte' : 'mette')
        const response = await request(route, agent, kind, path, change)
        const end = await snapshotAfter(ctx, agent, kind === 'citizen' ? 'dorte' : 'mette')
        results.push({ name, id, response, changed: isStateChanging(route) ? differences(start, end) : [] })
      }
    }
    return results
  }

  describe('citizen routes (/borger)', () => {
    it('have routes with ids to check', () => {
      expect(withIds(of('citizen')).map(routeKey)).to.include.members(['GET /borger/proever/:publicId', 'GET /borger/fravalg/kvittering/:reference'])
    })

    it("answer dorte's own id, and answer another citizen's id with the same 404 page as an id that does not exist", async () => {
      const dorte = await ctx.as('dorte')
      const failures: string[] = []
      for (const route of withIds(of('citizen'))) {
        const key = routeKey(route)
        const own = await ownPath(ctx, route)
        if (!isStateChanging(route)) {
          const mine = await ctx.get(dorte, own.path)
          if (mine.status !== 200) failures.push(`${key} with dorte's own id: ${mine.status} ${headingOf(mine.text)}`)
        }
        for (const name of paramsOf(route.path)) {
          const source = PARAMS.citizen[name]!
          const missing = (await tryIds(route, dorte, 'citizen', async (n) => (n === name ? [source.missing] : [])))[0]!
          if (missing.response.status !== 404 || !isCleanPage(missing.response)) failures.push(`${key} with an id that does not exist: ${missing.response.status}`)
          const others = await tryIds(route, dorte, 'citizen', async (n) => (n === name ? source.othersOfCitizens!(ctx) : []))
          if (others.length === 0) failures.push(`${key}: no ids of other citizens to try`)
          for (const other of others) {
            if (other.response.status !== 404) failures.push(`${key} with another citizen's ${name} ${other.id}: ${other.response.status} ${headingOf(other.response.text)}`)
            else if (comparable(other.response.text, other.id) !== comparable(missing.response.text, source.missing)) {
              failures.push(`${key} with another citizen's ${name}: a 404 page that differs from the one for an id that does not exist`)
            }
            if (other.changed.length > 0) failures.push(`${key} with another citizen's ${name} changed ${other.changed.join(', ')}`)
          }
        }
      }
      expect(failures).to.deep.equal([])
    })

    it("while a parent acts for a child: the child's sample answers, another citizen's still does not", async () => {
      const dorte = await ctx.signIn('dorte')
      const emilSample = (await ctx.query<{ public_id: string }>('select public_id from samples where donor_id = :id limit 1', { id: await ctx.donorIdOf('emil') }))[0]!.public_id
      const anneSample = (await ctx.query<{ public_id: string }>('select public_id from samples where donor_id = :id limit 1', { id: await ctx.donorIdOf('anne') }))[0]!.public_id
      expect((await ctx.get(dorte, `/borger/proever/${emilSample}`)).status, 'dorte for herself: emil’s sample').to.equal(404)
      const token = await ctx.csrfOf(dorte, 'citizen')
      expect((await ctx.postForm(dorte, '/borger/handl-for', { _csrf: token, child: String(await ctx.donorIdOf('emil')) })).status).to.equal(303)
      expect((await ctx.get(dorte, `/borger/proever/${emilSample}`)).status, 'dorte for emil: emil’s sample').to.equal(200)
      expect((await ctx.get(dorte, `/borger/proever/${anneSample}`)).status, 'dorte for emil: anne’s sample').to.equal(404)
    })

    it('POST /borger/handl-for answers a person who is not a child in custody under 15 like a person who does not exist (404), and changes nothing', async () => {
      const dorte = await ctx.signIn('dorte')
      const token = await ctx.csrfOf(dorte, 'citizen')
      const start = await snapshotBefore(ctx, dorte, 'dorte')
      const missing = await ctx.postForm(dorte, '/borger/handl-for', { _csrf: token, child: '999999999' })
      expect(missing.status).to.equal(404)
      for (const citizen of ['anne', 'frida', 'dorte'] as const) {
        const response = await ctx.postForm(dorte, '/borger/handl-for', { _csrf: token, child: String(await ctx.donorIdOf(citizen)) })
        expect(response.status, citizen).to.equal(404)
        expect(comparable(response.text), citizen).to.equal(comparable(missing.text))
      }
      for (const junk of ['', 'abc', '-1', '1e3', "1' or '1'='1"]) {
        expect((await ctx.postForm(dorte, '/borger/handl-for', { _csrf: token, child: junk })).status, junk).to.equal(404)
      }
      expect(differences(start, await snapshotAfter(ctx, dorte, 'dorte'))).to.deep.equal([])
    })
  })

  describe('staff routes (/medarbejder)', () => {
    it('refuse a signed-in citizen with 403 on every route, and change nothing', async () => {
      const dorte = await ctx.as('dorte')
      const failures: string[] = []
      for (const route of of('staff')) {
        const key = routeKey(route)
        try {
          const { path } = await ownPath(ctx, route)
          const change = isStateChanging(route) ? await prepareChange(ctx, route) : undefined
          const start = await snapshotBefore(ctx, dorte, 'dorte')
          const response = await request(route, dorte, 'citizen', path, change)
          const changed = differences(start, await snapshotAfter(ctx, dorte, 'dorte'))
          if (response.status !== 403 || !isCleanPage(response)) failures.push(`${key}: ${response.status} ${headingOf(response.text)}`)
          if (changed.length > 0) failures.push(`${key} changed ${changed.join(', ')}`)
        } catch (error) {
          failures.push(`${key}: ${(error as Error).message}`)
        }
      }
      expect(failures).to.deep.equal([])
    })

    it('answer their own user with the RH ids the other checks use (so a refusal below is about the biobank)', async () => {
      const failures: string[] = []
      for (const route of withIds(of('staff')).filter((r) => !isStateChanging(r))) {
        const response = await ctx.get(await ctx.as(pageActorFor(route)!), (await ownPath(ctx, route)).path)
        if (response.status !== 200) failures.push(`${routeKey(route)}: ${response.status} ${headingOf(response.text)}`)
      }
      expect(failures).to.deep.equal([])
    })

    it("answer a staff user of another biobank (mette, RM) with the documented status for an RH id, the same page as for an id that does not exist, and change nothing", async () => {
      const mette = await ctx.as('mette')
      const failures: string[] = []
      const checked = withIds(of('staff'))
      expect(checked.length).to.be.greaterThan(0)
      for (const route of checked) {
        const key = routeKey(route)
        try {
          for (const name of paramsOf(route.path)) {
            const source = PARAMS.staff[name]!
            const [foreign] = await tryIds(route, mette, 'staff', async (n) => (n === name ? [await source.own(ctx)] : []))
            const [missing] = await tryIds(route, mette, 'staff', async (n) => (n === name ? [source.missing] : []))
            if (foreign!.response.status !== source.otherBiobank) failures.push(`${key} with RH's ${name}: ${foreign!.response.status} ${headingOf(foreign!.response.text)}, documented ${source.otherBiobank}`)
            if (missing!.response.status !== 404) failures.push(`${key} with a ${name} that does not exist: ${missing!.response.status}`)
            if (source.otherBiobank === 404 && comparable(foreign!.response.text, foreign!.id) !== comparable(missing!.response.text, missing!.id)) {
              failures.push(`${key} with RH's ${name}: a 404 page that differs from the one for an id that does not exist`)
            }
            for (const result of [foreign!, missing!]) if (result.changed.length > 0) failures.push(`${key} with ${result.id} changed ${result.changed.join(', ')}`)
          }
        } catch (error) {
          failures.push(`${key}: ${(error as Error).message}`)
        }
      }
      expect(failures).to.deep.equal([])
    })

    it('refuse to register a sample into another biobank (mette posting biobank RH): 403, nothing changed', async () => {
      const change = await prepareChange(ctx, { method: 'POST', path: '/medarbejder/proever/ny' })
      expect(change.body.biobank).to.equal('RH')
      const mette = await ctx.as('mette')
      const start = await snapshotBefore(ctx, mette, 'mette')
      const response = await send(ctx, change, { agent: mette, extra: { _csrf: await ctx.csrf('mette') } })
      expect(response.status).to.equal(403)
      expect(isCleanPage(response)).to.equal(true)
      expect(differences(start, await snapshotAfter(ctx, mette, 'mette'))).to.deep.equal([])
    })

    it('refuse the auditor on every state-changing route that is not a read (403), and change nothing', async () => {
      const revisor = await ctx.as('revisor')
      const failures: string[] = []
      const changing = of('staff').filter((r) => isStateChanging(r) && !STATE_CHANGES[routeKey(r)]?.auditorMay)
      expect(changing.length).to.be.greaterThan(0)
      for (const route of changing) {
        const key = routeKey(route)
        try {
          const change = await prepareChange(ctx, route)
          const start = await snapshotBefore(ctx, revisor, 'revisor')
          const response = await send(ctx, change, { agent: revisor, extra: { _csrf: await ctx.csrf('revisor') } })
          const changed = differences(start, await snapshotAfter(ctx, revisor, 'revisor'))
          if (response.status !== 403 || !isCleanPage(response)) failures.push(`${key}: ${response.status} ${headingOf(response.text)}`)
          if (changed.length > 0) failures.push(`${key} changed ${changed.join(', ')}`)
        } catch (error) {
          failures.push(`${key}: ${(error as Error).message}`)
        }
      }
      expect(failures).to.deep.equal([])
    })

    it('refuse a search or an export of another biobank by its code (403), and an export by a registrar (403)', async () => {
      const henrik = await ctx.as('henrik')
      for (const path of ['/medarbejder/soeg?biobank=RM', '/medarbejder/eksport.csv?biobank=RM', '/medarbejder/eksport.fhir.json?biobank=RM']) {
        const response = await ctx.get(henrik, path)
        expect(response.status, path).to.equal(403)
        expect(isCleanPage(response), path).to.equal(true)
      }
      const stine = await ctx.as('stine')
      for (const path of ['/medarbejder/eksport.csv', '/medarbejder/eksport.fhir.json']) expect((await ctx.get(stine, path)).status, path).to.equal(403)
      // The same requests within henrik's own biobank are answered, so the 403s are about scope.
      expect((await ctx.get(henrik, '/medarbejder/soeg?biobank=RH')).status).to.equal(200)
      expect((await ctx.get(henrik, '/medarbejder/eksport.csv?biobank=RH')).status).to.equal(200)
    })
  })

  describe('research release (/medarbejder/forskning)', () => {
    const research = () => routes.filter((r) => r.path === '/medarbejder/forskning' || r.path.startsWith('/medarbejder/forskning/'))

    it('has the research routes to check', () => {
      expect(research().length).to.be.greaterThan(10)
    })

    it('is for biobank admins only: the registrar (stine) and the auditor get 403 on every research route, reading or changing, and nothing changes', async () => {
      const failures: string[] = []
      for (const actor of ['stine', 'revisor'] as const) {
        const agent = await ctx.as(actor)
        for (const route of research()) {
          const key = `${actor} ${routeKey(route)}`
          try {
            const { path } = await ownPath(ctx, route)
            const change = isStateChanging(route) ? await prepareChange(ctx, route) : undefined
            const start = await snapshotBefore(ctx, agent, actor)
            const response = await request(route, agent, 'staff', path, change)
            const changed = differences(start, await snapshotAfter(ctx, agent, actor))
            if (response.status !== 403 || !isCleanPage(response)) failures.push(`${key}: ${response.status} ${headingOf(response.text)}`)
            if (changed.length > 0) failures.push(`${key} changed ${changed.join(', ')}`)
          } catch (error) {
            failures.push(`${key}: ${(error as Error).message}`)
          }
        }
      }
      expect(failures).to.deep.equal([])
    })

    it("shows an admin of another biobank (mette, RM) none of RH's projects, checks or keys, and refuses her a check of an RH project by search criteria, changing nothing", async () => {
      const projectId = String(await researchProject(ctx))
      const henrik = await ctx.as('henrik')
      const mette = await ctx.as('mette')
      // What henrik sees of his own biobank, and mette must not.
      const rh = { project: 'Sikkerhedstestens projekt', key: 'security suite henrik' }
      await API.headers(ctx)
      expect((await ctx.get(henrik, '/medarbejder/forskning')).text).to.include(rh.project)
      expect((await ctx.get(henrik, '/medarbejder/forskning/api-noegler')).text).to.include(rh.key)
      for (const path of ['/medarbejder/forskning', '/medarbejder/forskning/soegning', `/medarbejder/forskning/soegning?project=${projectId}`, '/medarbejder/forskning/api-noegler']) {
        const page = await ctx.get(mette, path)
        expect(page.status, path).to.equal(200)
        expect(page.text, path).not.to.include(rh.project)
        expect(page.text, path).not.to.include(rh.key)
        expect(page.text, path).not.to.include(`/medarbejder/forskning/projekter/${projectId}"`)
      }
      // The criteria form posted with RH's project: refused as the form refuses a project that does not exist
      // (400, the project field in error), nothing checked.
      const change = await prepareChange(ctx, { method: 'POST', path: '/medarbejder/forskning/soegning' })
      expect(change.body.project).to.equal(projectId)
      const start = await snapshotBefore(ctx, mette, 'mette')
      const response = await send(ctx, change, { agent: mette, extra: { _csrf: await ctx.csrf('mette') } })
      const missing = await send(ctx, { ...change, body: { ...change.body, project: '999999' } }, { agent: mette, extra: { _csrf: await ctx.csrf('mette') } })
      expect(response.status).to.equal(400)
      expect(missing.status).to.equal(400)
      expect(response.text).to.include('href="#project"')
      expect(response.text.replace(/name="_csrf" value="[^"]*"/, '')).to.equal(missing.text.replace(/name="_csrf" value="[^"]*"/, '').replace(/999999/g, projectId))
      expect(isCleanPage(response)).to.equal(true)
      expect(response.headers.location).to.equal(undefined)
      expect(differences(start, await snapshotAfter(ctx, mette, 'mette'))).to.deep.equal([])
    })
  })

  describe('the import job page (/medarbejder/import/:jobId)', () => {
    it('shows a job to the user who started it only: stine (same biobank), mette (another) and the auditor get the 404 of a job that does not exist', async () => {
      const route = { method: 'GET', path: '/medarbejder/import/:jobId' }
      const { path } = await ownPath(ctx, route)
      const source = PARAMS.staff.jobId!
      const own = await ctx.get(await ctx.as('henrik'), path)
      expect(own.status, 'henrik, who started it').to.equal(200)
      expect(own.text).to.include('proever.csv')
      for (const actor of ['stine', 'mette', 'revisor'] as const) {
        const agent = await ctx.as(actor)
        const theirs = await ctx.get(agent, path)
        const missing = await ctx.get(agent, fillPath(route.path, { jobId: source.missing }))
        expect(theirs.status, actor).to.equal(404)
        expect(missing.status, actor).to.equal(404)
        expect(comparable(theirs.text, path), actor).to.equal(comparable(missing.text, fillPath(route.path, { jobId: source.missing })))
        expect(theirs.text, actor).not.to.include('proever.csv')
      }
    })
  })

  describe('API routes (/api, bearer keys)', () => {
    const api = () => routes.filter((r) => audienceOf(r.path) === 'api')
    const keyed = () => api().filter((r) => !API.routes[routeKey(r)]!.public)

    it('has the API routes to check, and answers the public description without a key', async () => {
      expect(keyed().map(routeKey)).to.include.members(['POST /api/v1/eligibility', 'GET /api/v1/eligibility/:checkId'])
      for (const route of api().filter((r) => API.routes[routeKey(r)]!.public)) expect((await apiSend(ctx, route)).status, routeKey(route)).to.equal(200)
    })

    it('refuse a missing, malformed, invented or revoked key with 401 (JSON, WWW-Authenticate: Bearer) on every route that needs a key, and change nothing; the valid key is answered', async () => {
      const refused = await API.refused(ctx)
      const valid = await API.headers(ctx)
      const failures: string[] = []
      for (const route of keyed()) {
        const key = routeKey(route)
        // The ids and the body are made before the comparison starts.
        const { path } = await ownPath(ctx, route)
        const body = await API.routes[key]!.body?.(ctx)
        const start = await ctx.fingerprint()
        for (const [what, authorization] of Object.entries(refused)) {
          const response = await apiSend(ctx, route, { headers: { Authorization: authorization }, path, body })
          const problems = [
            response.status !== 401 && `${response.status}`,
            !/^Bearer/.test(String(response.headers['www-authenticate'] ?? '')) && 'no WWW-Authenticate: Bearer',
            !/^application\/json/.test(String(response.headers['content-type'])) && `content type ${response.headers['content-type']}`,
            typeof (response.body as { error?: unknown }).error !== 'string' && 'no error text',
            /eligible|checkId/.test(response.text) && 'an answer with check data',
          ].filter(Boolean)
          if (problems.length > 0) failures.push(`${key} with ${what}: ${problems.join(', ')}`)
        }
        await ctx.settled()
        const changed = SecurityContext.changedTables(start, await ctx.fingerprint())
        if (changed.length > 0) failures.push(`${key} with refused keys changed ${changed.join(', ')}`)
        const control = await apiSend(ctx, route, { headers: valid, path, body })
        if (control.status >= 300) failures.push(`${key} with the valid key: ${control.status} ${control.text.slice(0, 200)}`)
        await ctx.settled()
      }
      expect(failures).to.deep.equal([])
    })

    it("answer a key of another biobank (RM) with 404 for RH's ids and RH's project, exactly as for ids that do not exist, and change nothing", async () => {
      const rm = await API.otherBiobankHeaders(ctx)
      const rh = await API.headers(ctx)
      const failures: string[] = []
      for (const route of keyed()) {
        const key = routeKey(route)
        const own = await ownPath(ctx, route)
        const body = (await API.routes[key]!.body?.(ctx)) as { project: unknown } | undefined
        await researchCheck(ctx, 'staff')
        const start = await ctx.fingerprint()
        for (const name of paramsOf(route.path)) {
          const source = PARAMS.api[name]!
          // RH's id of the key's own making, and (checks) one henrik made on the web: neither is RM's to read.
          const foreign = [await source.own(ctx), ...(name === 'checkId' ? [await researchCheck(ctx, 'staff')] : [])]
          const missing = await apiSend(ctx, route, { headers: rm, path: fillPath(route.path, { ...own.values, [name]: source.missing }) })
          if (missing.status !== 404) failures.push(`${key} with a ${name} that does not exist: ${missing.status}`)
          for (const id of foreign) {
            const response = await apiSend(ctx, route, { headers: rm, path: fillPath(route.path, { ...own.values, [name]: id }) })
            if (response.status !== source.otherBiobank) failures.push(`${key} with RH's ${name} ${id}: ${response.status}, documented ${source.otherBiobank}`)
            else if (response.text !== missing.text) failures.push(`${key} with RH's ${name}: an answer that differs from the one for an id that does not exist: ${response.text}`)
            // RH's own key reads it (so the 404 above is about the biobank).
            const mine = await apiSend(ctx, route, { headers: rh, path: fillPath(route.path, { ...own.values, [name]: id }) })
            if (mine.status !== 200) failures.push(`${key} with RH's ${name} and RH's key: ${mine.status}`)
          }
        }
        if (body) {
          // The body names RH's project, by id and by reference: not a project of the RM key's biobank.
          for (const project of [body.project, 'SEC-RH-1']) {
            const response = await apiSend(ctx, route, { headers: rm, body: { ...body, project } })
            if (response.status !== 404) failures.push(`${key} by the RM key for RH's project ${String(project)}: ${response.status} ${response.text.slice(0, 200)}`)
          }
        }
        await ctx.settled()
        const changed = SecurityContext.changedTables(start, await ctx.fingerprint())
        if (changed.length > 0) failures.push(`${key} by the RM key changed ${changed.join(', ')}`)
      }
      expect(failures).to.deep.equal([])
    })
  })

  it('sends a signed-out visitor of every citizen and staff page to the right sign-in (303), showing nothing', async () => {
    const failures: string[] = []
    for (const route of routes.filter((r) => !isStateChanging(r) && ['citizen', 'staff'].includes(audienceOf(r.path)))) {
      const { path } = await ownPath(ctx, route)
      const response = await ctx.get(undefined, path)
      const login = audienceOf(route.path) === 'citizen' ? '/auth/borger/login' : '/auth/medarbejder/login'
      if (response.status !== 303 || !(response.headers.location ?? '').startsWith(`${login}?returnTo=`)) failures.push(`${routeKey(route)}: ${response.status} ${response.headers.location ?? ''}`)
    }
    expect(failures).to.deep.equal([])
  })
})
