// ASVS 4.0 V4.2.2 / V13.2.3: every state-changing request (outside the development provider at /oidc and the
// bearer-token API at /api) needs the session's CSRF token. Without it, or with a wrong one, the answer is 403
// and nothing changes: no row in any table, no change to the session. With it, the same request does act, which
// proves the refusal was the token's doing and the body was one the app acts on.
// The API (/api) has no session and so no token: its defence is that it reads no cookie at all. A browser's forged
// request carries nothing but the cookies, so a request with only a staff session's cookie (as JSON, or as a
// cross-site form can send it) is refused with 401 and stores nothing; with the key, the same request acts.
import { expect } from 'chai'
import { headingOf, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { after as snapshotAfter, apiSend, before as snapshotBefore, differences, kindOf, ownPath, prepareChange, send } from './exercise.ts'
import { audienceOf, isStateChanging, routeKey, type AppRoute } from './routes.ts'
import { API } from './table.ts'

describe('security: CSRF on every state-changing route', function () {
  this.timeout(300_000)
  let ctx: SecurityContext
  let routes: AppRoute[]

  before(async () => {
    ctx = await SecurityContext.start()
    routes = ctx.routes().filter((r) => isStateChanging(r) && !['oidc', 'api'].includes(audienceOf(r.path)))
  })
  after(async () => {
    await ctx?.close()
  })

  const refused = (response: Response) => response.status === 403 && isCleanPage(response) && headingOf(response.text) === 'Du har ikke adgang'

  it('has state-changing routes to check', () => {
    expect(routes.length).to.be.greaterThan(5)
  })

  it('refuses each one without a valid CSRF token (403, the Danish page) and changes nothing; with the token the same request acts', async () => {
    const failures: string[] = []
    // A valid token of another session (carl's): valid somewhere, but not this session's.
    const othersToken = await ctx.csrf('carl')
    for (const route of routes) {
      const key = routeKey(route)
      try {
        const change = await prepareChange(ctx, route)
        const start = await snapshotBefore(ctx, change.agent, change.actor)
        const attempts: [string, Response][] = [
          ['no token', await send(ctx, change)],
          ['an invented token', await send(ctx, change, { extra: { _csrf: 'x'.repeat(43) } })],
          ["another session's token", await send(ctx, change, { extra: { _csrf: othersToken } })],
          ['an invented token in X-CSRF-Token', await send(ctx, change, { headers: { 'X-CSRF-Token': 'x'.repeat(43) } })],
        ]
        for (const [what, response] of attempts) {
          if (!refused(response)) failures.push(`${key} with ${what}: ${response.status} ${headingOf(response.text)}`)
        }
        const end = await snapshotAfter(ctx, change.agent, change.actor)
        const changed = differences(start, end)
        if (changed.length > 0) failures.push(`${key} without a valid token changed ${changed.join(', ')}`)

        // The control: the same request with the session's token is accepted and acts.
        const base = { session: end.session, database: await ctx.fingerprint() }
        const token = await ctx.csrfOf(change.agent, kindOf(change.actor))
        const accepted = await send(ctx, change, { extra: { _csrf: token } })
        await ctx.settled()
        const acted = await snapshotAfter(ctx, change.agent, change.actor)
        const answerOnly = change.spec.answerOnly
        if (accepted.status === 403 || accepted.status >= 500) failures.push(`${key} with the valid token: ${accepted.status} ${headingOf(accepted.text)} (is the actor in STATE_CHANGES right?)`)
        else if (answerOnly && !(accepted.status === 200 && answerOnly.test(String(accepted.headers['content-type'])))) failures.push(`${key} with the valid token: ${accepted.status} ${accepted.headers['content-type']}, not the answer expected`)
        else if (!answerOnly && differences(base, acted).length === 0) failures.push(`${key} with the valid token changed nothing (${accepted.status}): the STATE_CHANGES body is not one the app acts on`)
      } catch (error) {
        failures.push(`${key}: ${(error as Error).message}`)
      }
    }
    expect(failures).to.deep.equal([])
  })

  it("refuses every API route that needs a key when the request carries only a staff session's cookie (401, JSON), however it is sent, and stores nothing; with the key it acts", async () => {
    const henrik = await ctx.as('henrik')
    const token = await ctx.csrf('henrik')
    const apiRoutes = ctx.routes().filter((r) => audienceOf(r.path) === 'api' && !API.routes[routeKey(r)]!.public)
    expect(apiRoutes.map(routeKey)).to.include('POST /api/v1/eligibility')
    const failures: string[] = []
    for (const route of apiRoutes) {
      const key = routeKey(route)
      try {
        // The ids, the body and the key are made before the comparison starts.
        const { path } = await ownPath(ctx, route)
        const body = (await API.routes[key]!.body?.(ctx)) as { project: unknown; labels: string[] } | undefined
        const headers = await API.headers(ctx)
        const start = await ctx.fingerprint()
        const attempts: [string, Response][] = [
          ['the session cookie', await apiSend(ctx, route, { agent: henrik, body })],
          ["the session cookie and the session's CSRF token", await apiSend(ctx, route, { agent: henrik, body, headers: { 'X-CSRF-Token': token } })],
        ]
        if (body) {
          // What a cross-site HTML form can send without a preflight: urlencoded and text/plain bodies.
          const method = route.method.toLowerCase() as 'post'
          attempts.push(['a form post with the cookie', await henrik[method](ctx.url(path)).type('form').send({ _csrf: token, project: String(body.project), labels: body.labels.join('\n') }).redirects(0).ok(() => true)])
          attempts.push([
            'a text/plain post with the cookie',
            await henrik[method](ctx.url(`${path}?project=${String(body.project)}`)).set('Content-Type', 'text/plain').send(body.labels.join('\n')).redirects(0).ok(() => true),
          ])
        }
        for (const [what, response] of attempts) {
          if (response.status !== 401 || !/^application\/json/.test(String(response.headers['content-type']))) failures.push(`${key} with ${what}: ${response.status} ${response.headers['content-type']}`)
          if (response.headers['set-cookie']) failures.push(`${key} with ${what}: sets a cookie`)
        }
        await ctx.settled()
        const changed = SecurityContext.changedTables(start, await ctx.fingerprint())
        if (changed.length > 0) failures.push(`${key} with only a session cookie changed ${changed.join(', ')}`)
        // The control: the same request with the key is answered, and a state-changing one stores its check.
        const accepted = await apiSend(ctx, route, { headers, body })
        await ctx.settled()
        if (accepted.status >= 300) failures.push(`${key} with the key: ${accepted.status} ${accepted.text.slice(0, 200)}`)
        else if (isStateChanging(route) && SecurityContext.changedTables(start, await ctx.fingerprint()).length === 0) failures.push(`${key} with the key changed nothing`)
      } catch (error) {
        failures.push(`${key}: ${(error as Error).message}`)
      }
    }
    expect(failures).to.deep.equal([])
  })

  it('refuses a signed-out visitor without a token too, before anything else (403, not a sign-in redirect)', async () => {
    const failures: string[] = []
    for (const route of routes) {
      const response = await ctx.postForm(undefined, route.path.replace(/:[A-Za-z_$][\w$]*/g, 'x'), {}, route.method)
      if (!refused(response)) failures.push(`${routeKey(route)}: ${response.status} ${headingOf(response.text)}`)
    }
    expect(failures).to.deep.equal([])
  })
})
