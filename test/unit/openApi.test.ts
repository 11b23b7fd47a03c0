// The OpenAPI response checker (test/support/openApi.ts) can fail: it accepts the answers the document describes
// and refuses each way a response can differ from it. Run against the app's own document (no server needed) and
// against two tiny documents for the OpenAPI 3.0 and 3.1 schema dialects.
import { expect } from 'chai'
import { OpenApiContract, type Exchange } from '../support/openApi.ts'
import { openApiDocument } from '../../routes/api/openapi.ts'

const BASE = 'http://127.0.0.1:9'
const CHECK_ID = '0192f0c4-5b7e-7a3c-8d21-3f4e5a6b7c8d'

const answer = () => ({
  checkId: CHECK_ID,
  projectId: 3,
  registerVersion: 118,
  snapshot: '1204:1207:1204,1206',
  createdAt: '2026-11-30T09:15:02.123Z',
  purpose: 'material',
  requested: 8,
  duplicates: 1,
  requestedSha256: 'a'.repeat(64),
  eligibleCount: 2,
  excluded: { material: 3, genetic: 0, notAvailable: 1, unknown: 1 },
  eligible: ['RH-000001', 'RH-000002'],
})

const json = { 'content-type': 'application/json; charset=utf-8' }
const created = (body: unknown, headers: Exchange['headers'] = { ...json, location: `/api/v1/eligibility/${CHECK_ID}` }): Exchange => ({
  method: 'POST',
  url: `${BASE}/api/v1/eligibility?project=3`,
  status: 201,
  headers,
  text: typeof body === 'string' ? body : JSON.stringify(body),
})
const error = (status: number, body: unknown, headers: Exchange['headers'] = json, method = 'POST', path = '/eligibility'): Exchange => ({
  method,
  url: `${BASE}/api/v1${path}`,
  status,
  headers,
  text: JSON.stringify(body),
})

describe('the OpenAPI response checker', () => {
  const contract = new OpenApiContract(openApiDocument(BASE))
  const refused = (exchange: Exchange, why: RegExp) => {
    const problems = contract.problems(exchange)
    expect(problems.join('\n'), 'refused').to.match(why)
    expect(() => contract.assertConforms(exchange)).to.throw(/does not match the OpenAPI document/)
  }

  it("accepts the answers the app's document describes", () => {
    expect(contract.problems(created(answer()))).to.deep.equal([])
    expect(contract.problems({ ...created(answer()), method: 'GET', url: `/api/v1/eligibility/${CHECK_ID}`, status: 200, headers: json })).to.deep.equal([])
    expect(contract.problems(error(400, { error: 'invalid request', details: [{ path: ['labels', 1], message: 'a label has at most 64 characters' }] }))).to.deep.equal([])
    expect(contract.problems(error(401, { error: 'an API key is required' }, { ...json, 'www-authenticate': 'Bearer realm="biobank-registry"' }))).to.deep.equal([])
    expect(contract.problems(error(503, { error: 'busy' }, { ...json, 'retry-after': '5' }))).to.deep.equal([])
    expect(contract.covered).to.include('POST /eligibility 201').and.include('GET /eligibility/{checkId} 200').and.include('POST /eligibility 503')
    expect(contract.uncovered()).to.include('POST /eligibility 413')
  })

  it('refuses a body the schema does not allow', () => {
    refused(created({ ...answer(), donors: ['0101010101'] }), /must NOT have additional properties 'donors'/)
    refused(created({ ...answer(), excluded: { ...answer().excluded, optedOut: 2 } }), /\/excluded must NOT have additional properties 'optedOut'/)
    const { snapshot: _snapshot, ...withoutSnapshot } = answer()
    refused(created(withoutSnapshot), /must have required property 'snapshot'/)
    refused(created({ ...answer(), eligibleCount: '2' }), /\/eligibleCount must be integer/)
    refused(created({ ...answer(), checkId: 'check-1' }), /\/checkId must match format "uuid"/)
    refused(created({ ...answer(), createdAt: '30.11.2026' }), /\/createdAt must match format "date-time"/)
    refused(created({ ...answer(), purpose: 'commercial' }), /\/purpose must be equal to one of the allowed values/)
    refused(created({ ...answer(), eligible: ['RH-000001', 'RH-000001'] }), /\/eligible must NOT have duplicate items/)
    refused(created({ ...answer(), excluded: { ...answer().excluded, unknown: -1 } }), /\/excluded\/unknown must be >= 0/)
    // Through a $ref to components: the error schema.
    refused(error(400, { error: 'invalid request', details: [{ path: ['labels', 1] }] }), /\/details\/0 must have required property 'message'/)
    refused(error(400, { error: 'invalid request', details: [{ path: [true], message: 'x' }] }), /\/details\/0\/path\/0 must match exactly one schema in oneOf/)
    refused(error(404, { message: 'not found' }), /must have required property 'error'/)
  })

  it('refuses a status, content type, body or header the document does not describe', () => {
    refused(error(403, { error: 'forbidden' }), /status 403 is not documented for POST \/eligibility \(documented: 201, 400/)
    refused(error(413, { error: 'too large' }, json, 'GET', `/eligibility/${CHECK_ID}`), /status 413 is not documented for GET \/eligibility\/\{checkId\}/)
    refused(error(404, { error: 'x' }, { 'content-type': 'text/html; charset=utf-8' }), /Content-Type text\/html; charset=utf-8 is not documented/)
    refused(error(404, { error: 'x' }, {}), /no Content-Type/)
    refused(created('{"checkId": "'), /the body is not JSON/)
    refused(created(''), /the body is not JSON/)
    refused(created(answer(), json), /the required header Location is missing/)
    refused(created(answer(), { ...json, location: '/api/v1/eligibility/latest' }), /header Location: .* must match pattern/)
    refused(error(401, { error: 'no key' }), /the required header WWW-Authenticate is missing/)
    refused(error(503, { error: 'busy' }, { ...json, 'retry-after': 'soon' }), /header Retry-After: .* must be integer/)
  })

  it('refuses a path or method the document does not have', () => {
    refused(error(404, { error: 'not found' }, json, 'GET', '/checks'), /no path of the document matches \/checks/)
    refused(error(404, { error: 'not found' }, json, 'DELETE', `/eligibility/${CHECK_ID}`), /no DELETE operation on \/eligibility\/\{checkId\}/)
    refused({ ...error(404, { error: 'not found' }), url: `${BASE}/eligibility` }, /not below the document's server URL \(\/api\/v1\)/)
    // A concrete path is not taken for a template's parameter, nor the other way round.
    refused(error(200, answer(), json, 'GET', '/eligibility/'), /no path of the document matches/)
  })

  it('reads superagent responses by their request', () => {
    const problems = contract.problems({ status: 404, headers: json, text: '{"error":"no such check for this API key"}', request: { method: 'GET', url: `${BASE}/api/v1/eligibility/nope` } })
    expect(problems).to.deep.equal([])
    expect(contract.problems({ status: 404, headers: json, text: '{"error":""}', request: { method: 'GET', url: `${BASE}/api/v1/eligibility/nope` } })).to.have.length(1)
  })

  it('refuses a document whose reference does not resolve, rather than passing the response', () => {
    const document = openApiDocument(BASE) as { components: { schemas: Record<string, unknown> } }
    delete document.components.schemas.Error
    const broken = new OpenApiContract(document)
    expect(broken.problems(error(404, { error: 'x' })).join()).to.match(/cannot be used: .*Error/)
  })

  const tiny = (openapi: string, schema: Record<string, unknown>) =>
    new OpenApiContract({
      openapi,
      info: { title: 't', version: '1' },
      paths: { '/thing': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema } } }, '204': { description: 'nothing' } } } } },
      components: { schemas: { Name: { type: 'string', minLength: 1 } } },
    })
  const get = (status: number, text: string): Exchange => ({ method: 'GET', url: '/thing', status, headers: text ? json : {}, text })

  it('reads an OpenAPI 3.0 document with the 3.0 dialect (nullable, example)', () => {
    const contract30 = tiny('3.0.3', {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: { name: { $ref: '#/components/schemas/Name' }, note: { type: 'string', nullable: true, example: 'x' } },
    })
    expect(contract30.problems(get(200, '{"name":"a","note":null}'))).to.deep.equal([])
    expect(contract30.problems(get(200, '{"name":"","note":1}')).join('\n')).to.match(/\/name must NOT have fewer than 1 characters/).and.match(/\/note must be string/)
    expect(contract30.problems(get(204, ''))).to.deep.equal([])
    expect(contract30.problems(get(204, '{}')).join()).to.match(/documents no content/)
  })

  it('reads an OpenAPI 3.1 document with JSON Schema 2020-12 (type arrays, prefixItems)', () => {
    const contract31 = tiny('3.1.0', {
      type: 'object',
      additionalProperties: false,
      properties: { note: { type: ['string', 'null'] }, pair: { type: 'array', prefixItems: [{ $ref: '#/components/schemas/Name' }, { type: 'integer' }], minItems: 2, items: false } },
    })
    expect(contract31.problems(get(200, '{"note":null,"pair":["a",1]}'))).to.deep.equal([])
    expect(contract31.problems(get(200, '{"pair":["a","b"]}')).join()).to.match(/\/pair\/1 must be integer/)
    expect(contract31.problems(get(200, '{"pair":["a",1,2]}')).join()).to.match(/\/pair must NOT have more than 2 items/)
  })
})
