// The integration API: an admin issues a named key for their biobank (shown once, stored as a hash), an
// integration checks labels with it (JSON, NDJSON or text, streamed), the key can be revoked, and every mistake is
// a clear 400 JSON answer. The OpenAPI description is served and is a valid OpenAPI 3 document, and it is the
// contract: EVERY response the API gives in these tests is checked against it (status, headers, content type and
// body against the document's schema, test/support/openApi.ts), and every response it documents is seen.
import crypto from 'node:crypto'
import http from 'node:http'
import { expect } from 'chai'
import { QueryTypes } from 'sequelize'
import request from 'superagent'
import { startTestApp, type TestApp } from '../support/testApp.ts'
import { csrfTokenOf, get, login, newAgent, type Agent } from '../support/oidcFlow.ts'
import { OpenApiContract, type Exchange, type SuperagentLike } from '../support/openApi.ts'
import { EligibilityJsonParser, LineLabelParser, RequestShapeError } from '../../routes/api/labelStream.ts'
import { API_MAX_BODY_BYTES } from '../../routes/api/openapi.ts'

interface Answer {
  checkId: string
  projectId: number
  registerVersion: number
  snapshot: string
  requested: number
  duplicates: number
  requestedSha256: string
  eligibleCount: number
  excluded: { material: number; genetic: number; notAvailable: number; unknown: number }
  eligible: string[]
}

const sha256OfList = (labels: string[]) => crypto.createHash('sha256').update(labels.map((l) => `${l}\n`).join('')).digest('hex')

describe('integration API: POST /api/v1/eligibility with per-client keys', function () {
  this.timeout(120_000)
  let app: TestApp
  let henrik: Agent
  let mette: Agent
  let rhKey: string
  let rmKey: string
  let rhProject: { id: number; reference: string }
  /** The app's OpenAPI document, as it serves it: every API response below must be one it describes. */
  let contract: OpenApiContract

  /** `response`, once it is known to match the OpenAPI document. */
  const conform = <T extends Exchange | SuperagentLike>(response: T): T => {
    contract.assertConforms(response)
    return response
  }

  const query = <T extends object>(sql: string, replacements: Record<string, unknown> = {}) =>
    app.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })

  const api = (path: string) => `${app.baseUrl}/api/v1${path}`
  /** POST to the API; the response is checked against the OpenAPI document. */
  const post = async (key: string | undefined, body: unknown, type = 'application/json', path = '/eligibility') => {
    const req = request.post(api(path)).ok(() => true).set('content-type', type)
    if (key !== undefined) req.set('authorization', `Bearer ${key}`)
    return conform(await req.send(typeof body === 'string' ? body : JSON.stringify(body)))
  }
  /** GET from the API (a path below /api/v1, or one starting with /api/v1); checked against the OpenAPI document. */
  const getApi = async (key: string | undefined, path: string) => {
    const req = request.get(path.startsWith('/api/') ? `${app.baseUrl}${path}` : api(path)).ok(() => true)
    if (key !== undefined) req.set('authorization', `Bearer ${key}`)
    return conform(await req)
  }

  /** A raw request (node:http), for what superagent cannot send: a chunked body, a body held open, a false length. */
  function rawPost(headers: http.OutgoingHttpHeaders, path = '/eligibility') {
    let resolveResponse!: (exchange: Exchange) => void
    const response = new Promise<Exchange>((resolve) => (resolveResponse = resolve))
    const url = api(path)
    const req = http.request(url, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('end', () => resolveResponse({ method: 'POST', url, status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }))
    })
    const failed = new Promise<never>((_resolve, reject) => req.on('error', reject))
    return { req, response: Promise.race([response, failed]).then(conform) }
  }

  async function signedIn(userId: string): Promise<Agent> {
    const agent = newAgent()
    await login(agent, app.baseUrl, 'staff', userId)
    return agent
  }

  /** Issues a key on the admin's page; returns it as the page shows it, once. */
  async function issueKey(agent: Agent, name: string): Promise<string> {
    const page = await get(agent, `${app.baseUrl}/medarbejder/forskning/api-noegler`)
    expect(page.status).to.equal(200)
    const created = await agent.post(`${app.baseUrl}/medarbejder/forskning/api-noegler`).type('form').send({ _csrf: csrfTokenOf(page.text), name }).redirects(0).ok(() => true)
    expect(created.status).to.equal(200)
    expect(created.headers['cache-control']).to.contain('no-store')
    const key = /value="(bbr_[A-Za-z0-9_-]{43})"/.exec(created.text)?.[1]
    expect(key, 'the new key on the page').to.be.a('string')
    return key!
  }

  /** RH's samples that a material-only project may have (available, no material opt-out), and all RH samples. */
  const rhLabels = async () => {
    const free = await query<{ label: string }>(
      `select s.label from samples s join biobanks b on b.id = s.biobank_id left join opt_outs o on o.donor_id = s.donor_id
        where b.code = 'RH' and s.availability in ('available', 'reserved') and not coalesce(o.material, false) order by s.label`,
    )
    const all = await query<{ label: string }>("select s.label from samples s join biobanks b on b.id = s.biobank_id where b.code = 'RH' order by s.label")
    return { free: free.map((r) => r.label), all: all.map((r) => r.label) }
  }

  before(async () => {
    app = await startTestApp()
    contract = await OpenApiContract.fetch(app.baseUrl)
    henrik = await signedIn('henrik')
    mette = await signedIn('mette')
    const admin = await app.services.auth.signInStaff({ sub: 'henrik', name: 'Henrik Holm', role: 'biobank_admin', biobank: 'RH' }, 'urn:api-test')
    const created = await app.services.eligibility.createProject((admin as { user: never }).user, { title: 'API-projekt', reference: 'API-2026/7', approvalId: 'VEK-API', purpose: 'material' })
    rhProject = (created as { project: { id: number; reference: string } }).project
    rhKey = await issueKey(henrik, 'LIMS RH')
    rmKey = await issueKey(mette, 'LIMS RM')
  })
  after(async () => {
    await app.close()
  })

  it('shows a new key once and stores only its SHA-256, scoped to the admin\'s biobank', async () => {
    const list = await get(henrik, `${app.baseUrl}/medarbejder/forskning/api-noegler`)
    expect(list.text).to.contain('LIMS RH').and.to.contain(rhKey.slice(0, 12))
    expect(list.text).not.to.contain(rhKey)
    expect(list.text).not.to.contain('LIMS RM')
    const rows = await query<Record<string, unknown>>("select * from api_clients where name = 'LIMS RH'")
    expect(rows).to.have.length(1)
    expect((rows[0]!.key_hash as Buffer).equals(crypto.createHash('sha256').update(rhKey).digest())).to.equal(true)
    expect(JSON.stringify(rows[0])).not.to.contain(rhKey)
    const [rh] = await query<{ id: number }>("select id from biobanks where code = 'RH'")
    expect(rows[0]!.biobank_id).to.equal(rh!.id)
  })

  it('answers a check with the eligible labels and counts, stored and readable again at its Location', async () => {
    const { free, all } = await rhLabels()
    const optedOut = all.filter((l) => !free.includes(l))
    const labels = [...free.slice(0, 5), ...optedOut, 'NOT-A-SAMPLE', free[0]!]
    const res = await post(rhKey, { labels, project: rhProject.reference })
    expect(res.status, res.text).to.equal(201)
    expect(res.headers['content-type']).to.match(/^application\/json/)
    const answer = res.body as Answer
    expect(answer.checkId).to.match(/^[0-9a-f-]{36}$/)
    expect(res.headers.location).to.equal(`/api/v1/eligibility/${answer.checkId}`)
    expect(answer.eligible).to.deep.equal(free.slice(0, 5))
    expect(answer.eligibleCount).to.equal(5)
    expect(answer.requested).to.equal(labels.length)
    expect(answer.duplicates).to.equal(1)
    expect(answer.excluded.unknown).to.equal(1)
    expect(answer.excluded.material + answer.excluded.notAvailable).to.equal(optedOut.length)
    expect(answer.requestedSha256).to.equal(sha256OfList(labels))
    const [{ version }] = (await query<{ version: number }>('select max(id) as version from opt_out_events')) as [{ version: number }]
    expect(answer.registerVersion).to.equal(version)
    for (const label of optedOut) expect(res.text).not.to.contain(`"${label}"`)

    const again = await getApi(rhKey, res.headers.location!)
    expect(again.status).to.equal(200)
    expect(again.body).to.deep.equal(answer)
    // Another biobank's key cannot read it, nor a request without a key, nor one with a key it does not know.
    const other = await getApi(rmKey, res.headers.location!)
    expect(other.status).to.equal(404)
    expect(other.text).not.to.contain(answer.checkId)
    expect((await getApi(undefined, res.headers.location!)).status).to.equal(401)
    expect((await getApi(`bbr_${'B'.repeat(43)}`, res.headers.location!)).status).to.equal(401)
    // An unknown check, and an id that is not one.
    expect((await getApi(rhKey, `/eligibility/${crypto.randomUUID()}`)).status).to.equal(404)
    expect((await getApi(rhKey, '/eligibility/latest')).status).to.equal(404)
    expect((await getApi(rhKey, '/eligibility/%E2%82')).status).to.equal(404)

    // One audit event, with the admin who issued the key as actor and the key in the details.
    const audit = await query<{ actor_kind: string; actor_staff_id: number; details: Record<string, unknown> }>(
      "select actor_kind, actor_staff_id, details from audit_events where action = 'eligibility.check' and details->>'checkId' = :id",
      { id: answer.checkId },
    )
    const [client] = await query<{ id: number; created_by_staff_id: number }>("select id, created_by_staff_id from api_clients where name = 'LIMS RH'")
    expect(audit).to.have.length(1)
    expect(audit[0]).to.deep.include({ actor_kind: 'staff', actor_staff_id: client!.created_by_staff_id })
    expect(audit[0]!.details).to.deep.include({ apiClientId: client!.id, requested: labels.length, eligible: 5 })
    // The check names the key, and henrik's project page lists it.
    const [check] = await query<{ api_client_id: number; staff_user_id: number | null; source: string }>('select api_client_id, staff_user_id, source from eligibility_checks where id = :id', { id: answer.checkId })
    expect(check).to.deep.equal({ api_client_id: client!.id, staff_user_id: null, source: 'api' })
    const project = await get(henrik, `${app.baseUrl}/medarbejder/forskning/projekter/${rhProject.id}`)
    expect(project.text).to.contain(answer.checkId).and.to.contain('integrationen LIMS RH')
  })

  it('takes text/plain and NDJSON bodies with the project in the query, by id or reference', async () => {
    const { free } = await rhLabels()
    const text = await post(rhKey, `${free.slice(0, 3).join('\r\n')}\r\n\r\n`, 'text/plain', `/eligibility?project=${rhProject.id}`)
    expect(text.status, text.text).to.equal(201)
    expect((text.body as Answer).eligible).to.deep.equal(free.slice(0, 3))
    const ndjson = await post(rhKey, free.slice(0, 2).map((l) => JSON.stringify(l)).join('\n'), 'application/x-ndjson', `/eligibility?project=${encodeURIComponent(rhProject.reference)}`)
    expect(ndjson.status, ndjson.text).to.equal(201)
    expect((ndjson.body as Answer).eligible).to.deep.equal(free.slice(0, 2))
    const noProject = await post(rhKey, 'X', 'text/plain')
    expect(noProject.status).to.equal(400)
    expect(noProject.body.details[0].path).to.deep.equal(['query', 'project'])
    const notJsonLine = await post(rhKey, '"A"\nB\n', 'application/x-ndjson', `/eligibility?project=${rhProject.id}`)
    expect(notJsonLine.status, notJsonLine.text).to.equal(400)
    const tooLong = await post(rhKey, `A\n${'B'.repeat(65)}\n`, 'text/plain', `/eligibility?project=${rhProject.id}`)
    expect(tooLong.status, tooLong.text).to.equal(400)
    expect(tooLong.body.details[0].path).to.deep.equal(['labels', 1])
    const empty = await post(rhKey, '\n\n', 'text/plain', `/eligibility?project=${rhProject.id}`)
    expect(empty.status, empty.text).to.equal(400)
    expect(empty.body.details[0].path).to.deep.equal(['labels'])
  })

  it('refuses requests without a valid key with 401, and a revoked key from then on', async () => {
    const body = { project: rhProject.id, labels: ['X'] }
    const none = await post(undefined, body)
    expect(none.status).to.equal(401)
    expect(none.headers['www-authenticate']).to.match(/^Bearer/)
    expect(none.body.error).to.be.a('string')
    expect((await post('bbr_' + 'A'.repeat(43), body)).status).to.equal(401)
    expect((await post('not a key', body)).status).to.equal(401)

    const key = await issueKey(henrik, 'Kortvarig')
    expect((await post(key, body)).status).to.equal(201)
    const page = await get(henrik, `${app.baseUrl}/medarbejder/forskning/api-noegler`)
    const [client] = await query<{ id: number }>("select id from api_clients where name = 'Kortvarig'")
    // mette cannot revoke henrik's key.
    const metteToken = csrfTokenOf((await get(mette, `${app.baseUrl}/medarbejder/forskning/api-noegler`)).text)
    expect((await mette.post(`${app.baseUrl}/medarbejder/forskning/api-noegler/${client!.id}/spaer`).type('form').send({ _csrf: metteToken }).redirects(0).ok(() => true)).status).to.equal(404)
    expect((await post(key, body)).status).to.equal(201)
    const revoked = await henrik.post(`${app.baseUrl}/medarbejder/forskning/api-noegler/${client!.id}/spaer`).type('form').send({ _csrf: csrfTokenOf(page.text) }).redirects(0).ok(() => true)
    expect(revoked.status).to.equal(303)
    const after = await post(key, body)
    expect(after.status).to.equal(401)
    expect(after.body.error).to.contain('revoked')
    expect((await get(henrik, `${app.baseUrl}/medarbejder/forskning/api-noegler?spaerret=1`)).text).to.contain('Nøglen er spærret')
  })

  it("is scoped to the key's biobank: another biobank's labels are unknown, its projects are not found", async () => {
    const { free } = await rhLabels()
    // mette's RM project, asked about RH labels with the RM key.
    const page = await get(mette, `${app.baseUrl}/medarbejder/forskning/projekter/ny`)
    const created = await mette.post(`${app.baseUrl}/medarbejder/forskning/projekter`).type('form').send({ _csrf: csrfTokenOf(page.text), title: 'Midt', reference: 'RM-API', approvalId: 'VEK-M', purpose: 'both' }).redirects(0).ok(() => true)
    expect(created.status).to.equal(303)
    const res = await post(rmKey, { project: 'RM-API', labels: free.slice(0, 4) })
    expect(res.status, res.text).to.equal(201)
    expect((res.body as Answer).eligible).to.deep.equal([])
    expect((res.body as Answer).excluded.unknown).to.equal(4)
    // The RH project is not the RM key's, by reference or by id.
    for (const project of [rhProject.reference, rhProject.id]) {
      const other = await post(rmKey, { project, labels: free.slice(0, 1) })
      expect(other.status).to.equal(404)
      expect(other.body.error).to.be.a('string')
    }
  })

  it('answers every malformed request with 400 (or 413, 415) and a JSON error saying where', async () => {
    const [before] = await query<{ n: number }>('select count(*)::int as n from eligibility_checks')
    const cases: Array<[unknown, number, (string | number)[] | undefined]> = [
      ['{"project": 1, "labels": ["A",', 400, undefined],
      ['not json', 400, undefined],
      [{ project: rhProject.id, labels: 'A' }, 400, ['labels']],
      [{ project: rhProject.id, labels: ['A', 7] }, 400, ['labels', 1]],
      [{ project: rhProject.id, labels: ['A', 'B'.repeat(65)] }, 400, ['labels', 1]],
      [{ project: rhProject.id, labels: ['A\tB'] }, 400, ['labels', 0]],
      [{ project: rhProject.id, labels: [''] }, 400, ['labels', 0]],
      [{ project: rhProject.id, labels: [] }, 400, ['labels']],
      [{ project: rhProject.id }, 400, ['labels']],
      [{ labels: ['A'] }, 400, ['project']],
      [{ project: true, labels: ['A'] }, 400, ['project']],
      [{ project: rhProject.id, labels: ['A'], extra: 1 }, 400, ['extra']],
      ['[1, 2]', 400, undefined],
      [`{"project": ${rhProject.id}, "labels": ["A"]} trailing`, 400, undefined],
    ]
    for (const [body, status, path] of cases) {
      const res = await post(rhKey, body)
      expect(res.status, `${JSON.stringify(body)}: ${res.text}`).to.equal(status)
      expect(res.headers['content-type']).to.match(/^application\/json/)
      expect(res.body.error, JSON.stringify(body)).to.be.a('string')
      if (path) expect(res.body.details?.[0]?.path, JSON.stringify(body)).to.deep.equal(path)
      if (path) expect(res.body.details[0].message).to.be.a('string').and.not.equal('')
    }
    // A mistake early in a large body is answered as soon as it is read; the rest of the body is read and dropped.
    const large = await post(rhKey, { project: rhProject.id, labels: ['A', 42, ...Array.from({ length: 200_000 }, (_, i) => `LARGE-${i}`)] })
    expect(large.status).to.equal(400)
    expect(large.body.details[0].path).to.deep.equal(['labels', 1])
    const label = await post(rhKey, { project: rhProject.id, labels: ['B'.repeat(65)] })
    expect(label.body.details[0].message).to.contain('64')
    expect((await post(rhKey, 'A', 'application/xml')).status).to.equal(415)
    expect((await post(rhKey, { project: rhProject.id, labels: ['A'] }, 'application/json; charset=iso-8859-1')).status).to.equal(415)
    const notFound = await post(rhKey, { project: 999999, labels: ['A'] })
    expect(notFound.status).to.equal(404)
    expect(notFound.body.details[0].path).to.deep.equal(['project'])
    // A body announced as larger than the limit is refused before it is read.
    const oversize = rawPost({ authorization: `Bearer ${rhKey}`, 'content-type': 'application/json', 'content-length': String(API_MAX_BODY_BYTES + 1) })
    oversize.req.write('{"project": 1, "labels": [')
    const refused = await oversize.response
    oversize.req.destroy()
    expect(refused.status, refused.text).to.equal(413)
    expect(JSON.parse(refused.text).error).to.contain(String(API_MAX_BODY_BYTES))
    const [after] = await query<{ n: number }>('select count(*)::int as n from eligibility_checks')
    expect(after!.n).to.equal(before!.n)
  })

  it('checks 100,000 labels in one streamed request', async () => {
    const { all } = await rhLabels()
    const labels = [...all]
    for (let i = labels.length; i < 100_000; i++) labels.push(`API-BULK-${i}`)
    // Sent as a chunked body, in pieces that split labels and escapes at arbitrary points.
    const body = Buffer.from(JSON.stringify({ project: String(rhProject.id), labels }))
    const { req, response } = rawPost({ authorization: `Bearer ${rhKey}`, 'content-type': 'application/json; charset=utf-8' })
    for (let at = 0; at < body.length; at += 7_919) req.write(body.subarray(at, at + 7_919))
    req.end()
    // The answer is streamed too (chunked, no Content-Length); it matches the OpenAPI document (conform, in rawPost).
    const answer = await response
    expect(answer.status, answer.text.slice(0, 300)).to.equal(201)
    expect(answer.headers['transfer-encoding']).to.equal('chunked')
    const parsed = JSON.parse(answer.text) as Answer
    expect(parsed.requested).to.equal(100_000)
    expect(parsed.excluded.unknown).to.equal(100_000 - all.length)
    expect(parsed.eligible.length + parsed.excluded.material + parsed.excluded.genetic + parsed.excluded.notAvailable).to.equal(all.length)
    expect(parsed.requestedSha256).to.equal(sha256OfList(labels))
    const [{ n }] = (await query<{ n: number }>('select count(*)::int as n from eligibility_check_items where check_id = :id', { id: parsed.checkId })) as [{ n: number }]
    expect(n).to.equal(100_000)
    // Read again: the same streamed answer.
    const again = await getApi(rhKey, `/eligibility/${parsed.checkId}`)
    expect(again.body).to.deep.equal(parsed)
  })

  it('answers 503 with Retry-After to a third check while two are still receiving their bodies, and then both', async () => {
    const key = await issueKey(henrik, 'Langsom')
    const { free } = await rhLabels()
    // Three checks whose bodies have begun and are held open: at most two run at once, so one is refused at once
    // (which one depends on which gets there first), and the other two wait for the rest of their bodies.
    const held = [0, 1, 2].map(() => rawPost({ authorization: `Bearer ${key}`, 'content-type': 'application/json' }))
    for (const { req } of held) req.write(`{"project": ${rhProject.id}, "labels": ["${free[0]}"`)
    const first = await Promise.race(held.map(({ response }, index) => response.then((exchange) => ({ index, exchange }))))
    expect(first.exchange.status, first.exchange.text).to.equal(503)
    expect(Number(first.exchange.headers['retry-after'])).to.be.greaterThan(0)
    // The held bodies end (the refused one's rest is read and dropped), and the two running checks are answered.
    for (const { req } of held) req.end(`, "${free[2]}"]}`)
    for (const [index, { response }] of held.entries()) {
      if (index === first.index) continue
      const res = await response
      expect(res.status, res.text).to.equal(201)
      expect((JSON.parse(res.text) as Answer).eligible).to.deep.equal([free[0], free[2]])
    }
  })

  it('serves its OpenAPI 3 description, a structurally valid document whose references all resolve', async () => {
    const res = await getApi(undefined, '/openapi.json')
    expect(res.status).to.equal(200)
    expect(res.body).to.deep.equal(contract.document)
    type Obj = Record<string, unknown>
    const obj = (value: unknown) => value as Obj
    const doc = res.body as Obj
    expect(doc.openapi).to.match(/^3\.\d+\.\d+$/)
    expect(doc.info).to.include.keys('title', 'version')
    expect((doc.servers as Obj[])[0]!.url).to.equal(`${app.baseUrl}/api/v1`)
    expect(obj(obj(obj(doc.components).securitySchemes).apiKey)).to.include({ type: 'http', scheme: 'bearer' })
    const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']
    for (const [path, item] of Object.entries(obj(doc.paths))) {
      expect(path).to.match(/^\//)
      for (const [method, value] of Object.entries(obj(item))) {
        const operation = obj(value)
        expect(methods, `${path} ${method}`).to.include(method)
        expect(operation.responses, `${path} ${method}`).to.be.an('object')
        for (const [code, response] of Object.entries(obj(operation.responses))) {
          expect(code).to.match(/^([1-5]\d\d|default)$/)
          expect(obj(response).description, `${path} ${method} ${code}`).to.be.a('string')
        }
        for (const parameter of (operation.parameters as Obj[] | undefined) ?? []) {
          expect(['query', 'header', 'path', 'cookie']).to.include(parameter.in)
          if (parameter.in === 'path') expect(parameter.required).to.equal(true)
        }
      }
    }
    // Every $ref points at something in the document.
    const refs: string[] = []
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) node.forEach(walk)
      else if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref') refs.push(value as string)
          else walk(value)
        }
      }
    }
    walk(doc)
    expect(refs.length).to.be.greaterThan(0)
    for (const ref of refs) {
      expect(ref).to.match(/^#\//)
      const target = ref.slice(2).split('/').reduce<unknown>((at, part) => (at as Obj | undefined)?.[part], doc)
      expect(target, ref).to.be.an('object')
    }
    // The paths the router serves are described.
    expect(doc.paths).to.include.keys('/eligibility', '/eligibility/{checkId}', '/openapi.json')
    // No cookie, no session: the API never starts one.
    expect(res.headers['set-cookie']).to.equal(undefined)
    // The contract is closed: every object the answers hold lists its properties and allows no others, so a
    // platform that validates strictly is never surprised by a new field.
    const open: string[] = []
    const closed = (node: unknown, at: string): void => {
      if (Array.isArray(node)) node.forEach((item, i) => closed(item, `${at}/${i}`))
      else if (node && typeof node === 'object') {
        const schema = node as Obj
        if (schema.type === 'object' && schema.properties && schema.additionalProperties !== false) open.push(at)
        for (const [key, value] of Object.entries(schema)) closed(value, `${at}/${key}`)
      }
    }
    closed(obj(doc.components).schemas, '#/components/schemas')
    expect(open).to.deep.equal([])
  })

  it('limits the requests of one key (429 with Retry-After), without limiting the other keys', async () => {
    const key = await issueKey(henrik, 'Ivrig')
    let limited: Awaited<ReturnType<typeof getApi>> | undefined
    // 120 a minute per key: the loop ends at the first 429 (each answer until then is a 404 for an unknown check).
    for (let attempt = 0; attempt < 250 && !limited; attempt++) {
      const res = await getApi(key, `/eligibility/${crypto.randomUUID()}`)
      if (res.status === 429) limited = res
      else expect(res.status, res.text).to.equal(404)
    }
    expect(limited, 'a 429 within 250 requests').not.to.equal(undefined)
    expect(Number(limited!.headers['retry-after'])).to.be.greaterThan(0)
    expect(limited!.body.error).to.be.a('string')
    // The key is limited for checks too; another key of the same biobank is not.
    expect((await post(key, { project: rhProject.id, labels: ['A'] })).status).to.equal(429)
    expect((await post(rhKey, { project: rhProject.id, labels: ['A'] })).status).to.equal(201)
  })

  it('limits the description too, per address (429), like every API route', async () => {
    // Last before the coverage check: this uses up the address's allowance for the rest of the minute.
    let limited: Awaited<ReturnType<typeof getApi>> | undefined
    for (let attempt = 0; attempt < 400 && !limited; attempt++) {
      const res = await getApi(undefined, '/openapi.json')
      if (res.status === 429) limited = res
      else expect(res.status, res.text).to.equal(200)
    }
    expect(limited, 'a 429 within 400 requests').not.to.equal(undefined)
    expect(limited!.body.error).to.be.a('string')
  })

  it('has given every response the OpenAPI document describes, each matching it', () => {
    // An internal error (500) cannot be provoked from outside; everything else was seen above.
    expect(contract.uncovered()).to.deep.equal(['POST /eligibility 500', 'GET /eligibility/{checkId} 500'])
  })

  describe('the streaming JSON reader', () => {
    const read = (text: string, chunk: number) => {
      const parser = new EligibilityJsonParser()
      const labels: unknown[] = []
      for (let at = 0; at < text.length; at += chunk) {
        parser.write(text.slice(at, at + chunk))
        labels.push(...parser.take())
      }
      parser.end()
      labels.push(...parser.take())
      return { labels, project: parser.project }
    }

    it('reads the same labels whatever the chunk boundaries, escapes and key order', () => {
      const labels = ['RH-1', 'with "quote"', 'back\\slash', 'æøå', '\u00e9\u{1F600}', 'slash/', 'x'.repeat(64)]
      const texts = [
        JSON.stringify({ project: 'REF-1', labels }),
        JSON.stringify({ labels, project: 'REF-1' }),
        `  {\n "labels" : [ ${labels.map((l) => JSON.stringify(l).replace(/\\"/g, '\\u0022').replace(/\//g, '\\/')).join(' ,\n')} ] ,"project":"REF-1"}  \n`,
      ]
      for (const text of texts) {
        for (const chunk of [1, 2, 3, 7, 64, 10_000]) expect(read(text, chunk), `chunk ${chunk}`).to.deep.equal({ labels, project: 'REF-1' })
      }
      expect(read('{"project": 12345, "labels": []}', 3)).to.deep.equal({ labels: [], project: 12345 })
      expect(read('{"project": -1.5e3, "labels": []}', 2).project).to.equal(-1500)
    })

    it('refuses what is not the shape, with a path', () => {
      const refused = (text: string) => {
        try {
          read(text, 5)
        } catch (error) {
          expect(error).to.be.instanceOf(RequestShapeError)
          return (error as RequestShapeError).path
        }
        throw new Error(`accepted ${text}`)
      }
      expect(refused('{"labels": ["a", {"b": 1}], "project": 1}')).to.deep.equal(['labels', 1])
      expect(refused('{"labels": ["a"], "labels": ["b"], "project": 1}')).to.deep.equal(['labels'])
      expect(refused('{"project": null, "labels": []}')).to.deep.equal(['project'])
      expect(refused('{"project": 1, "labels": ["a\nb"]}')).to.deep.equal([])
      expect(refused('{"project": 1, "labels": ["a"]')).to.deep.equal([])
      expect(refused('{"project": 1, "labels": ["a"]}{}')).to.deep.equal([])
      expect(refused('{"project": tru, "labels": []}')).to.deep.equal([])
    })

    it('reads labels one per line, as text or as NDJSON', () => {
      const text = new LineLabelParser(false)
      text.write('A-1\r\nB-')
      text.write('2\n\n  \nC-3')
      text.end()
      expect(text.take()).to.deep.equal(['A-1', 'B-2', 'C-3'])
      const ndjson = new LineLabelParser(true)
      ndjson.write('"A"\n"B\\u0022"\n')
      ndjson.end()
      expect(ndjson.take()).to.deep.equal(['A', 'B"'])
    })
  })
})
