// Defects the security suite found, each kept as the test that caught it (all fixed): a forged X-Forwarded-For
// behind TRUST_PROXY, 500s for edited page cursors, "_" as a LIKE wildcard in the audit search, personal pages
// without Cache-Control: no-store, and an API route without a rate limit.
import { expect } from 'chai'
import { headingOf, isCleanPage, SecurityContext } from './harness.ts'
import { ownPath, pageActorFor } from './exercise.ts'
import { audienceOf, isStateChanging, routeKey } from './routes.ts'
import { newAgent } from '../../support/oidcFlow.ts'

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')

describe('security: defects found by the suite, fixed', function () {
  this.timeout(300_000)

  // One app at a time: the Sequelize models are module-wide (models/index.ts), so a second app started in this
  // process would take them over from the first.
  describe('behind a reverse proxy', () => {
    // Defect 4. TRUST_PROXY is a boolean and true means Express trusts every X-Forwarded-For entry, so req.ip is the
    // left-most one, which the client writes. Behind a proxy that appends (nginx $proxy_add_x_forwarded_for), every
    // request can claim a new address and the sign-in rate limit never triggers (express-rate-limit warns about
    // exactly this: ERR_ERL_PERMISSIVE_TRUST_PROXY, printed during this test).
    // Fix: TRUST_PROXY as Express's hop count or address list (`TRUST_PROXY=1` for one reverse proxy, or
    // `loopback, 10.0.0.0/8`), parsed in server/config.ts and passed to app.set('trust proxy', ...); req.ip is then the
    // address the proxy saw.
    it('with TRUST_PROXY set, a forged X-Forwarded-For does not escape the sign-in rate limit', async () => {
      const proxied = await SecurityContext.start({ TRUST_PROXY: 'true', AUTH_RATE_LIMIT_PER_MINUTE: '3' })
      try {
        const statuses: number[] = []
        for (let i = 1; i <= 5; i++) {
          // The client forged the first entry; the reverse proxy appended the address it really saw.
          const response = await newAgent().get(proxied.url('/auth/borger/login')).set('X-Forwarded-For', `198.51.100.${i}, 203.0.113.7`).redirects(0).ok(() => true)
          statuses.push(response.status)
        }
        expect(statuses.slice(-1)[0], `statuses ${statuses.join(' ')}`).to.equal(429)
      } finally {
        await proxied.close()
      }
    })
  })

  describe('on the test app', () => {
    let ctx: SecurityContext

    before(async () => {
      ctx = await SecurityContext.start()
      await ctx.get(await ctx.as('henrik'), `/medarbejder/proever/${(await ctx.query<{ public_id: string }>('select public_id from samples limit 1'))[0]!.public_id}`)
    })
    after(async () => {
      await ctx?.close()
    })

    // Defect 1. server/services/auditService.ts decodeCursor accepts any `at` that Date.parse accepts ("1",
    // "March 7", year 0) and hands it to PostgreSQL as `::timestamptz`, which refuses it: 500.
    // Fix: accept only the cursor's own shape: `typeof at === 'string' && new Date(at).toISOString() === at` (what
    // encodeCursor writes) and a positive safe-integer id; anything else is "no cursor" (the first page).
    it('GET /medarbejder/revision answers an edited page cursor without a 500', async () => {
      const revisor = await ctx.as('revisor')
      const failures: string[] = []
      for (const cursor of [['1', 5], ['March 7', 5], ['0000-01-01T00:00:00Z', 5], ['2024-01-01T00:00:00.000Z', -1]]) {
        const response = await ctx.get(revisor, `/medarbejder/revision?cursor=${base64url(cursor)}`)
        if (response.status >= 500 || !isCleanPage(response)) failures.push(`${JSON.stringify(cursor)}: ${response.status} ${headingOf(response.text)}`)
      }
      expect(failures).to.deep.equal([])
    })

    // Defect 2. server/services/searchService.ts decodeCursor checks the shape of `t` and `i` with regular
    // expressions, but a well-shaped value can still be out of range for PostgreSQL: year 0000, 31 February, an id
    // beyond bigint. The query then fails: 500 instead of the "link not valid, first page" notice.
    // Fix: in decodeCursor also require `new Date(t).toISOString().slice(0, 19) === t.slice(0, 19)` and year >= 1,
    // and `BigInt(i) <= 9223372036854775807n`; otherwise return undefined (InvalidCursorError → the notice).
    it('GET /medarbejder/soeg answers a well-shaped but impossible page cursor with the notice, not a 500', async () => {
      const henrik = await ctx.as('henrik')
      const failures: string[] = []
      for (const cursor of [
        { d: 'a', t: '0000-01-01T00:00:00.000000Z', i: '1' },
        { d: 'a', t: '2024-02-31T00:00:00.000000Z', i: '1' },
        { d: 'a', t: '2024-01-01T00:00:00.000000Z', i: '9999999999999999999' },
      ]) {
        const response = await ctx.get(henrik, `/medarbejder/soeg?cursor=${base64url(cursor)}`)
        if (response.status !== 200 || !response.text.includes('alert-warning')) failures.push(`${JSON.stringify(cursor)}: ${response.status} ${headingOf(response.text)}`)
      }
      expect(failures).to.deep.equal([])
    })

    // Defect 3. The audit trail's action filter finds `action = :action or action like :action || '.%'` without
    // escaping LIKE's wildcards, and the action pattern allows `_`: "s_____" finds sample.view, sample.create, ...
    // (rows the value does not name). Only the auditor searches, so nothing leaks, but the result misleads.
    // Fix: `starts_with(a.action, :actionPrefix)` (PostgreSQL 11+), or escape: criteria.action.replace(/[\\%_]/g, '\\$&').
    it("GET /medarbejder/revision?action=s_____ finds only actions named s_____ (none), not sample.* (LIKE's _ is a character)", async () => {
      const revisor = await ctx.as('revisor')
      const control = await ctx.get(revisor, '/medarbejder/revision?action=sample')
      expect([...control.text.matchAll(/<td><code>([^<]*)<\/code><\/td>/g)].length, 'sample.* rows exist').to.be.greaterThan(0)
      const response = await ctx.get(revisor, '/medarbejder/revision?action=s_____')
      const actions = [...response.text.matchAll(/<td><code>([^<]*)<\/code><\/td>/g)].map((m) => m[1]!)
      expect(actions).to.deep.equal([])
    })

    // Defect 6 (ASVS 4.0 V11.1.4; issue 8: "the login and API routes are rate limited"). routes/api.ts limits the
    // key-checked routes per address (300 a minute, before the key is looked up) and per key, but
    // GET /api/v1/openapi.json was registered before the limiters and without one: an unauthenticated route any
    // client could call without end.
    // Fix: the route takes the per-address limiter too (`router.get('/api/v1/openapi.json', perAddress, ...)`).
    it('GET /api/v1/openapi.json is rate limited per address like the other API routes (429 JSON past 300 a minute)', async () => {
      const statuses: number[] = []
      for (let i = 0; i <= 300 && statuses[statuses.length - 1] !== 429; i++) statuses.push((await ctx.get(undefined, '/api/v1/openapi.json')).status)
      expect(statuses[0], 'the first request is answered').to.equal(200)
      const last = await ctx.get(undefined, '/api/v1/openapi.json')
      expect(last.status, `after ${statuses.length} requests`).to.equal(429)
      expect(last.headers['content-type']).to.match(/^application\/json/)
    })

    // Defect 5 (ASVS 4.0 V8.2.1). Pages with personal data (the citizen's samples, who looked at them, a sample's
    // donor as staff see it) are sent without Cache-Control, so a browser may keep them and show them again from
    // its cache after sign-out (back button, shared computer).
    // Fix: in setUpWebSecurity (or setUpSessionTimeouts), for every response to a signed-in user — or every /borger
    // and /medarbejder answer — set `Cache-Control: no-store` (the exports already do).
    it('sends Cache-Control: no-store on every signed-in citizen and staff page', async () => {
      const failures: string[] = []
      for (const route of ctx.routes().filter((r) => !isStateChanging(r) && ['citizen', 'staff'].includes(audienceOf(r.path)))) {
        const response = await ctx.get(await ctx.as(pageActorFor(route)!), (await ownPath(ctx, route)).path)
        if (!/no-store/.test(String(response.headers['cache-control'] ?? ''))) failures.push(`${routeKey(route)} (${response.status}): Cache-Control ${response.headers['cache-control'] ?? '(none)'}`)
      }
      expect(failures).to.deep.equal([])
    })
  })
})
