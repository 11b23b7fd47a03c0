// ASVS 4.0 V4.2.2 / V13.2.3: every state-changing request (outside the development provider at /oidc and the
// bearer-token API at /api) needs the session's CSRF token. Without it, or with a wrong one, the answer is 403
// and nothing changes: no row in any table, no change to the session. With it, the same request does act, which
// proves the refusal was the token's doing and the body was one the app acts on.
import { expect } from 'chai'
import { headingOf, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { after as snapshotAfter, before as snapshotBefore, differences, kindOf, prepareChange, send } from './exercise.ts'
import { audienceOf, isStateChanging, routeKey, type AppRoute } from './routes.ts'

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

  it('refuses a signed-out visitor without a token too, before anything else (403, not a sign-in redirect)', async () => {
    const failures: string[] = []
    for (const route of routes) {
      const response = await ctx.postForm(undefined, route.path.replace(/:[A-Za-z_$][\w$]*/g, 'x'), {}, route.method)
      if (!refused(response)) failures.push(`${routeKey(route)}: ${response.status} ${headingOf(response.text)}`)
    }
    expect(failures).to.deep.equal([])
  })
})
