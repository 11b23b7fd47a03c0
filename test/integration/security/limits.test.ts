// ASVS 4.0 V2.2.1 (anti-automation on sign-in), V11.1.4 / V12.1.1 (limits on requests and uploads):
//   - the sign-in routes are rate limited: past the limit, 429 with the Danish page; the API too, once it exists;
//   - an urlencoded body over 100 kB, one with too many fields, and a JSON body over 1 MB are refused with 413 and
//     a clear page on every state-changing route, before any handler runs, and change nothing;
//   - uploads over their documented limit are refused with 413 on every upload route the app has.
import { expect } from 'chai'
import { headingOf, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { after as snapshotAfter, before as snapshotBefore, differences, kindOf, prepareChange, send, type PreparedChange } from './exercise.ts'
import { audienceOf, isStateChanging, routeKey, type AppRoute } from './routes.ts'
import { API } from './table.ts'
import { newAgent } from '../../support/oidcFlow.ts'

const TOO_LARGE = 'Filen eller formularen er for stor'
const TOO_MANY = 'For mange forsøg'
const LOGIN_LIMIT = 5

describe('security: rate limits and size limits', function () {
  this.timeout(300_000)

  describe('sign-in', () => {
    let ctx: SecurityContext
    before(async () => {
      // One app, both limits small (a second app in the process would take over the module-wide Sequelize models).
      ctx = await SecurityContext.start({ AUTH_RATE_LIMIT_PER_MINUTE: String(LOGIN_LIMIT), ...(API ? { [API.rateLimit.env]: String(API.rateLimit.perMinute) } : {}) })
    })
    after(async () => {
      await ctx?.close()
    })

    it(`answers every sign-in route with 429 and the Danish page once ${LOGIN_LIMIT} requests a minute are used up; every API route too`, async () => {
      const all = ctx.routes()
      const loginRoutes = all.filter((r) => r.method === 'GET' && audienceOf(r.path) === 'auth' && /\/(login|callback)$/.test(r.path))
      expect(loginRoutes.map(routeKey)).to.include.members(['GET /auth/borger/login', 'GET /auth/medarbejder/login', 'GET /auth/borger/callback', 'GET /auth/medarbejder/callback'])
      const statuses: number[] = []
      for (let i = 0; i < LOGIN_LIMIT; i++) statuses.push((await ctx.get(undefined, '/auth/borger/login')).status)
      expect(statuses.every((s) => s === 302 || s === 303), `within the limit: ${statuses.join(' ')}`).to.equal(true)
      for (const route of loginRoutes) {
        const response = await ctx.get(undefined, route.path)
        expect(response.status, routeKey(route)).to.equal(429)
        expect(isCleanPage(response), routeKey(route)).to.equal(true)
        expect(headingOf(response.text), routeKey(route)).to.equal(TOO_MANY)
        expect(response.text).to.include('<html lang="da">')
        expect(response.headers.location, 'no redirect to the provider').to.equal(undefined)
      }

      // The API (bearer keys) has its own limit (table.ts API), counted apart from the sign-in's.
      const apiRoutes = all.filter((r) => audienceOf(r.path) === 'api')
      if (apiRoutes.length === 0) return
      expect(API, 'an /api route without an API entry in table.ts').not.to.equal(undefined)
      const headers = await API!.headers(ctx)
      for (const route of apiRoutes) {
        let last: Response | undefined
        for (let i = 0; i <= API!.rateLimit.perMinute; i++) {
          let request = newAgent()[route.method.toLowerCase() as 'get'](ctx.url(route.path.replace(/:[A-Za-z_$][\w$]*/g, '1'))).redirects(0).ok(() => true)
          for (const [name, value] of Object.entries(headers)) request = request.set(name, value)
          last = await request
        }
        expect(last!.status, routeKey(route)).to.equal(429)
      }
    })
  })

  describe('request and upload sizes', () => {
    let ctx: SecurityContext
    let routes: AppRoute[]
    before(async () => {
      ctx = await SecurityContext.start()
      routes = ctx.routes().filter((r) => isStateChanging(r) && !['oidc', 'api'].includes(audienceOf(r.path)))
    })
    after(async () => {
      await ctx?.close()
    })

    const tooLarge = (response: Response) => response.status === 413 && isCleanPage(response) && headingOf(response.text) === TOO_LARGE

    /** An upload one byte over the route's documented limit: 413, a clear page, nothing changed. */
    async function oversizedUpload(change: PreparedChange, token: string): Promise<string[]> {
      const upload = change.spec.upload!
      const key = routeKey(change.route)
      const maxBytes = upload.maxBytes(ctx)
      if (!maxBytes) return [`${key}: takes uploads, but STATE_CHANGES upload.maxBytes does not know its limit`]
      const start = await snapshotBefore(ctx, change.agent, change.actor)
      const header = upload.content()
      const big = Buffer.concat([header, Buffer.alloc(maxBytes + 1 - header.length, 'a')])
      let request = change.agent.post(ctx.url(change.path)).redirects(0).ok(() => true)
      for (const [name, value] of Object.entries({ ...change.body, _csrf: token })) request = request.field(name, value)
      const response = await request.attach(upload.field, big, { filename: upload.filename, contentType: upload.contentType })
      const problems: string[] = []
      if (!(response.status === 413 && isCleanPage(response))) problems.push(`${key} with a ${maxBytes + 1}-byte upload: ${response.status} ${headingOf(response.text)}`)
      const changed = differences(start, await snapshotAfter(ctx, change.agent, change.actor))
      if (changed.length > 0) problems.push(`${key}: an oversized upload changed ${changed.join(', ')}`)
      return problems
    }

    it('refuses an urlencoded body over 100 kB, over 200 fields, a JSON body over 1 MB, and an upload over its limit with 413 and a clear page on every state-changing route, changing nothing; a body under the limits is read', async () => {
      expect(routes.length).to.be.greaterThan(5)
      const failures: string[] = []
      for (const route of routes) {
        const key = routeKey(route)
        try {
          const change = await prepareChange(ctx, route)
          const token = await ctx.csrfOf(change.agent, kindOf(change.actor))
          const method = route.method.toLowerCase() as 'post'
          const url = ctx.url(change.path)
          const start = await snapshotBefore(ctx, change.agent, change.actor)
          const attempts: [string, Response][] = [
            ['101 kB urlencoded', await change.agent[method](url).set('X-CSRF-Token', token).type('form').send({ ...change.body, filler: 'a'.repeat(101 * 1024) }).redirects(0).ok(() => true)],
            ['201 fields', await change.agent[method](url).set('X-CSRF-Token', token).type('form').send({ ...change.body, ...Object.fromEntries(Array.from({ length: 201 }, (_, i) => [`f${i}`, 'x'])) }).redirects(0).ok(() => true)],
            ['1.1 MB JSON', await change.agent[method](url).set('X-CSRF-Token', token).set('Content-Type', 'application/json').send(JSON.stringify({ ...change.body, filler: 'a'.repeat(1100 * 1024) })).redirects(0).ok(() => true)],
          ]
          for (const [what, response] of attempts) if (!tooLarge(response)) failures.push(`${key} with ${what}: ${response.status} ${headingOf(response.text)}`)
          const changed = differences(start, await snapshotAfter(ctx, change.agent, change.actor))
          if (changed.length > 0) failures.push(`${key}: an oversized body changed ${changed.join(', ')}`)
          // Just under the limit: read, and answered by the route (whatever it makes of the filler), not refused for size.
          const under = await send(ctx, change, { extra: { _csrf: token, filler: 'a'.repeat(90 * 1024) } })
          if (under.status === 413 || under.status >= 500) failures.push(`${key} with a 90 kB body: ${under.status} ${headingOf(under.text)}`)
          await ctx.settled()
          if (change.spec.upload) failures.push(...(await oversizedUpload(change, token)))
        } catch (error) {
          failures.push(`${key}: ${(error as Error).message}`)
        }
      }
      expect(failures).to.deep.equal([])
    })
  })
})
