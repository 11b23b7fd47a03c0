// ASVS 4.0 V2.2.1 (anti-automation on sign-in), V11.1.4 / V12.1.1 (limits on requests and uploads):
//   - the sign-in routes are rate limited: past the limit, 429 with the Danish page; every API route too (429 JSON);
//   - an urlencoded body over 100 kB, one with too many fields, and a JSON body over 1 MB are refused with 413 and
//     a clear page on every state-changing route, before any handler runs, and change nothing;
//   - uploads over their documented limit are refused with 413 on every upload route the app has; an API body
//     over API_MAX_BODY_BYTES is refused with 413 before it is read.
import http from 'node:http'
import { expect } from 'chai'
import { headingOf, isCleanPage, SecurityContext, type Response } from './harness.ts'
import { after as snapshotAfter, apiSend, before as snapshotBefore, differences, kindOf, ownPath, prepareChange, send, type PreparedChange } from './exercise.ts'
import { audienceOf, isStateChanging, routeKey, type AppRoute } from './routes.ts'
import { API } from './table.ts'
import { API_MAX_BODY_BYTES } from '../../../routes/api/openapi.ts'

const TOO_LARGE = 'Filen eller formularen er for stor'
const TOO_MANY = 'For mange forsøg'
const LOGIN_LIMIT = 5

describe('security: rate limits and size limits', function () {
  this.timeout(300_000)

  describe('sign-in', () => {
    let ctx: SecurityContext
    before(async () => {
      // One app at a time (a second app in the process would take over the module-wide Sequelize models).
      ctx = await SecurityContext.start({ AUTH_RATE_LIMIT_PER_MINUTE: String(LOGIN_LIMIT) })
    })
    after(async () => {
      await ctx?.close()
    })

    it(`answers every sign-in route with 429 and the Danish page once ${LOGIN_LIMIT} requests a minute are used up`, async () => {
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
    })
  })

  describe('the API', () => {
    let ctx: SecurityContext
    before(async () => {
      ctx = await SecurityContext.start()
    })
    after(async () => {
      await ctx?.close()
    })

    it('answers every API route with 429 (JSON) once its limit a minute is used up', async () => {
      // The API (bearer keys) has its own limits (table.ts API.routes, set in routes/api.ts): each route answers 429
      // at the latest once its limit is used up, with a valid key and a body it acts on. The limiters are shared
      // between routes, so a later route may be refused sooner; the smallest limit (per key) goes first, so both
      // the per-key and the per-address limit are reached.
      const apiRoutes = ctx.routes().filter((r) => audienceOf(r.path) === 'api').sort((a, b) => API.routes[routeKey(a)]!.rateLimit - API.routes[routeKey(b)]!.rateLimit)
      expect(apiRoutes.map(routeKey)).to.include.members(['GET /api/v1/openapi.json', 'POST /api/v1/eligibility', 'GET /api/v1/eligibility/:checkId'])
      const headers = await API.headers(ctx)
      const failures: string[] = []
      for (const [index, route] of apiRoutes.entries()) {
        const key = routeKey(route)
        const limit = API.routes[key]!.rateLimit
        const statuses: number[] = []
        let last: Response | undefined
        for (let i = 0; i <= limit && last?.status !== 429; i++) {
          last = await apiSend(ctx, route, { headers })
          statuses.push(last.status)
        }
        if (index === 0 && statuses[0] === 429) failures.push(`${key}: refused the first request`)
        const other = statuses.filter((s) => s !== 429 && s >= 300)
        if (other.length > 0) failures.push(`${key}: answered ${[...new Set(other)].join(' ')} within the limit`)
        if (last!.status !== 429) failures.push(`${key}: ${last!.status} after ${statuses.length} requests a minute (limit ${limit})`)
        else {
          if (!/^application\/json/.test(String(last!.headers['content-type']))) failures.push(`${key}: a 429 of ${last!.headers['content-type']}`)
          if (typeof (last!.body as { error?: unknown }).error !== 'string') failures.push(`${key}: a 429 without an error text`)
        }
      }
      expect(failures).to.deep.equal([])
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

    it(`refuses an API body announced larger than ${API_MAX_BODY_BYTES / (1024 * 1024)} MB with 413 (JSON) before reading it, on every state-changing API route, changing nothing`, async () => {
      const apiRoutes = ctx.routes().filter((r) => audienceOf(r.path) === 'api' && isStateChanging(r))
      expect(apiRoutes.length).to.be.greaterThan(0)
      const { Authorization } = await API.headers(ctx)
      const failures: string[] = []
      for (const route of apiRoutes) {
        const key = routeKey(route)
        const { path } = await ownPath(ctx, route)
        const before = await ctx.fingerprint()
        // Only the announcement and a first piece are sent: the answer must come before the rest would.
        const answer = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
          const request = http.request(ctx.url(path), { method: route.method, headers: { Authorization, 'Content-Type': 'application/json', 'Content-Length': String(API_MAX_BODY_BYTES + 1) } }, (response) => {
            let body = ''
            response.setEncoding('utf8')
            response.on('data', (chunk: string) => (body += chunk))
            response.on('end', () => {
              resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type'] ?? ''), body })
              request.destroy()
            })
          })
          request.on('error', reject)
          request.write('{"project": 1, "labels": [')
        })
        if (answer.status !== 413 || !/^application\/json/.test(answer.type)) failures.push(`${key}: ${answer.status} ${answer.type} ${answer.body.slice(0, 100)}`)
        await ctx.settled()
        const changed = SecurityContext.changedTables(before, await ctx.fingerprint())
        if (changed.length > 0) failures.push(`${key}: an oversized body changed ${changed.join(', ')}`)
      }
      expect(failures).to.deep.equal([])
    })
  })
})
