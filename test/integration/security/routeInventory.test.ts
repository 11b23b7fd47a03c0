// The security suite reads the routes from the app itself; this file proves the reading works and that every
// route can be exercised by the other security tests. A route nobody told the suite about fails here.
import { expect } from 'chai'
import express, { Router } from 'express'
import { SecurityContext } from './harness.ts'
import { audienceOf, listRoutes, routeKey, type AppRoute } from './routes.ts'
import { API, coverageProblems, STATE_CHANGES } from './table.ts'

describe('security: the route inventory', function () {
  this.timeout(120_000)
  let ctx: SecurityContext
  let routes: AppRoute[]

  before(async () => {
    ctx = await SecurityContext.start()
    routes = ctx.routes()
  })
  after(async () => {
    await ctx?.close()
  })

  it('reads every route of the app, with its full path, from the router stack', () => {
    const keys = routes.map(routeKey)
    // A sample of each area, so a broken walk (nothing found, prefixes lost) cannot pass unnoticed.
    for (const expected of [
      'GET /',
      'GET /auth/borger/login',
      'POST /auth/logout',
      'GET /borger/proever/:publicId',
      'POST /borger/fravalg',
      'GET /borger/fravalg/kvittering/:reference',
      'GET /medarbejder',
      'POST /medarbejder/proever/:publicId/haendelser',
      'POST /medarbejder/soeg/cpr',
      'GET /medarbejder/eksport.csv',
      'GET /medarbejder/revision',
      'GET /medarbejder/import/:jobId',
      'POST /medarbejder/forskning/projekter/:projectId/tjek/fil',
      'POST /medarbejder/forskning/api-noegler/:clientId/spaer',
      'GET /api/v1/openapi.json',
      'POST /api/v1/eligibility',
      'GET /api/v1/eligibility/:checkId',
    ]) {
      expect(keys, expected).to.include(expected)
    }
    expect(new Set(keys).size, 'no duplicates').to.equal(keys.length)
  })

  it('knows how to exercise every route: its audience, every path parameter, every state-changing request', () => {
    expect(coverageProblems(routes)).to.deep.equal([])
  })

  it('has a table entry for no route the app does not have (a typo, or a route since removed, would never run)', () => {
    const keys = routes.map(routeKey)
    expect(Object.keys(STATE_CHANGES).filter((key) => !keys.includes(key)), 'STATE_CHANGES').to.deep.equal([])
    expect(Object.keys(API.routes).filter((key) => !keys.includes(key)), 'API.routes').to.deep.equal([])
    // Every /api route is described, and only /api routes are.
    expect(Object.keys(API.routes).filter((key) => audienceOf(key.split(' ')[1]!) !== 'api')).to.deep.equal([])
  })

  describe('on an app with routes the suite has never seen', () => {
    // The same shapes the app uses: full paths on routers mounted without a prefix, and one router mounted at /api.
    const app = express()
    const staff = Router()
    staff.get('/medarbejder/ting/:thingId', (_req, res) => res.end())
    staff.post('/medarbejder/ting', (_req, res) => res.end())
    const citizen = Router()
    citizen.get('/borger/proever/:publicId', (_req, res) => res.end())
    citizen.delete('/borger/proever/:publicId', (_req, res) => res.end())
    const api = Router()
    api.get('/v1/checks/:checkId', (_req, res) => res.end())
    api.post('/v1/things', (_req, res) => res.end())
    const outer = Router()
    outer.use(staff)
    outer.use(citizen)
    outer.all('/medarbejder/alt', (_req, res) => res.end())
    app.use(outer)
    app.use('/api', api)
    app.get(/^\/regex$/, (_req, res) => res.end())
    const found = listRoutes(app)

    it('finds them with their full paths, through nested and prefixed routers', () => {
      expect(found.map(routeKey)).to.have.members([
        'GET /medarbejder/ting/:thingId',
        'POST /medarbejder/ting',
        'GET /borger/proever/:publicId',
        'DELETE /borger/proever/:publicId',
        'ALL /medarbejder/alt',
        'GET /api/v1/checks/:checkId',
        'POST /api/v1/things',
        'GET <unsupported path /^\\/regex$/>',
      ])
    })

    it('names each one it could not exercise', () => {
      const problems = coverageProblems(found)
      const about = (key: string) => problems.filter((p) => p.startsWith(`${key}:`))
      expect(about('GET /medarbejder/ting/:thingId').join()).to.contain('unknown parameter :thingId')
      expect(about('POST /medarbejder/ting').join()).to.contain('STATE_CHANGES')
      expect(about('DELETE /borger/proever/:publicId').join()).to.contain('STATE_CHANGES')
      expect(about('ALL /medarbejder/alt').join()).to.contain('router.all()')
      expect(about('GET /api/v1/checks/:checkId').join()).to.contain('API.routes')
      expect(about('POST /api/v1/things').join()).to.contain('API.routes')
      expect(problems.some((p) => p.includes('unsupported path'))).to.equal(true)
      // A route it knows is not a problem.
      expect(about('GET /borger/proever/:publicId')).to.deep.equal([])
    })
  })
})
