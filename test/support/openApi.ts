// Holds real HTTP responses against the app's OpenAPI document: the document is the contract research platforms
// build against, so every answer the API gives in a test must be one the document describes.
//
// For a response to METHOD URL, the operation is found by matching the URL's path (below the first server's URL)
// against the document's path templates, then the response object by status (exact, then 4XX-style range, then
// default): a status the operation does not document is a failure. Then:
//   - headers: every header the response object marks required is present; every documented header that is present
//     matches its schema (integer and number schemas read the text as a number);
//   - content: with no documented content the body is empty; otherwise the Content-Type (without parameters) is
//     one of the documented media types, and a JSON body parses and validates against that media type's schema.
// Schemas are validated with ajv, the whole document added as one schema so `#/components/...` references resolve:
// OpenAPI 3.0 schema objects with ajv's draft-07 dialect (which knows OpenAPI's `nullable`), OpenAPI 3.1 with
// JSON Schema 2020-12. ajv runs in strict mode: an unknown keyword or format in the document is an error, not
// silently ignored.
import { AssertionError } from 'node:assert'
import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { Ajv2020 } from 'ajv/dist/2020.js'

/** One response as the test saw it. */
export interface Exchange {
  method: string
  /** The request URL, absolute or a path; the query is ignored. */
  url: string
  status: number
  headers: Record<string, string | string[] | number | undefined>
  /** The body as text ('' for none). */
  text: string
}

/** What superagent/supertest responses look like, enough to build an Exchange. */
export interface SuperagentLike {
  status: number
  headers: Record<string, string>
  text: string
  request: { method: string; url: string }
}

type Obj = Record<string, unknown>

interface Located<T> {
  value: T
  /** A JSON pointer into the document, where `value` is. */
  pointer: string
}

const DOCUMENT_ID = 'https://openapi.invalid/document.json'
const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

/** The formats the document may use; strict ajv refuses any other one, so the contract never goes unchecked. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i
const FORMATS: Options['formats'] = {
  uuid: UUID,
  'date-time': { validate: (value: string) => DATE_TIME.test(value) && !Number.isNaN(Date.parse(value)) },
  date: { validate: (value: string) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)) },
  // OpenAPI's numeric formats.
  int32: { type: 'number', validate: (value: number) => Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31 },
  int64: { type: 'number', validate: (value: number) => Number.isInteger(value) },
  float: { type: 'number', validate: () => true },
  double: { type: 'number', validate: () => true },
}

const isObj = (value: unknown): value is Obj => typeof value === 'object' && value !== null && !Array.isArray(value)
const escapePointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1')
const unescapePointer = (part: string) => part.replace(/~1/g, '/').replace(/~0/g, '~')

function describeErrors(errors: readonly ErrorObject[]): string[] {
  return errors.map((e) => {
    const params = e.keyword === 'additionalProperties' ? ` '${String((e.params as { additionalProperty: string }).additionalProperty)}'` : ` ${JSON.stringify(e.params)}`
    return `${e.instancePath || '(root)'} ${e.message ?? e.keyword}${params} (${e.schemaPath})`
  })
}

function headerValue(headers: Exchange['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase()
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue
    return Array.isArray(value) ? value.join(', ') : String(value)
  }
  return undefined
}

function isSuperagent(response: Exchange | SuperagentLike): response is SuperagentLike {
  return 'request' in response && isObj(response.request)
}

/** An Exchange from a superagent/supertest response (its request's method and URL). */
export function exchangeOf(response: Exchange | SuperagentLike): Exchange {
  if (!isSuperagent(response)) return response
  return { method: response.request.method, url: response.request.url, status: response.status, headers: response.headers, text: response.text ?? '' }
}

export class OpenApiContract {
  readonly document: Obj
  /** The path below the origin that the document's paths are relative to (the first server's URL path). */
  readonly basePath: string
  /** The documented responses seen conforming, as 'METHOD /template STATUS-KEY'. */
  readonly covered = new Set<string>()
  private readonly ajv: Ajv | Ajv2020
  private readonly validators = new Map<string, ValidateFunction>()

  constructor(document: unknown) {
    if (!isObj(document) || typeof document.openapi !== 'string') throw new Error('not an OpenAPI document: no "openapi" version')
    const version = /^3\.(\d+)\.\d+$/.exec(document.openapi)
    if (!version) throw new Error(`unsupported OpenAPI version ${document.openapi}`)
    this.document = document
    const servers = Array.isArray(document.servers) ? (document.servers as Obj[]) : []
    const serverUrl = typeof servers[0]?.url === 'string' ? servers[0].url : '/'
    this.basePath = new URL(serverUrl, 'http://server.invalid').pathname.replace(/\/$/, '')

    const options: Options = { strict: true, allErrors: true, formats: FORMATS, discriminator: true }
    // 3.0: schema objects are a JSON Schema draft-04/07 dialect with OpenAPI's keywords (ajv knows `nullable`).
    // 3.1: schema objects are JSON Schema 2020-12 (jsonSchemaDialect may say otherwise; this helper does not support that).
    if (Number(version[1]) >= 1) {
      if (document.jsonSchemaDialect !== undefined && document.jsonSchemaDialect !== 'https://spec.openapis.org/oas/3.1/dialect/base') {
        throw new Error(`unsupported jsonSchemaDialect ${String(document.jsonSchemaDialect)}`)
      }
      this.ajv = new Ajv2020(options)
    } else {
      this.ajv = new Ajv(options)
    }
    // Annotations OpenAPI adds to schema objects; they do not constrain an instance.
    const annotations = ['example', 'xml', 'externalDocs', 'deprecated']
    // The document is not a schema itself: it is added whole, unvalidated, so its schemas can be reached by pointer
    // and their `#/components/...` references resolve. ajv compiles the root too; its OpenAPI fields are made
    // annotations so strict mode accepts them (none of them is a schema keyword, so nothing is lost).
    const documentFields = Object.keys(document).filter((key) => key !== '$schema' && key !== '$id')
    for (const keyword of [...annotations, ...documentFields]) if (!this.ajv.RULES.keywords[keyword]) this.ajv.addKeyword(keyword)
    this.ajv.addSchema(document, DOCUMENT_ID, undefined, false)
  }

  /** Loads the document the app serves at `${baseUrl}/api/v1/openapi.json`; that response must conform to it too. */
  static async fetch(baseUrl: string, path = '/api/v1/openapi.json'): Promise<OpenApiContract> {
    const url = `${baseUrl}${path}`
    const response = await fetch(url)
    const text = await response.text()
    if (response.status !== 200) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 200)}`)
    const contract = new OpenApiContract(JSON.parse(text))
    contract.assertConforms({ method: 'GET', url, status: response.status, headers: Object.fromEntries(response.headers), text })
    return contract
  }

  /** Everything about `response` that the document does not allow; empty when it conforms. */
  problems(response: Exchange | SuperagentLike): string[] {
    const exchange = exchangeOf(response)
    const operation = this.operationFor(exchange.method, exchange.url)
    if (typeof operation === 'string') return [operation]
    const { problems, statusKey } = this.check(exchange, operation)
    if (problems.length === 0) this.covered.add(`${operation.key} ${statusKey}`)
    return problems
  }

  private check(exchange: Exchange, operation: { key: string; operation: Located<Obj> }): { problems: string[]; statusKey?: string } {
    const problems: string[] = []

    const responses = this.resolve({ value: operation.operation.value.responses, pointer: `${operation.operation.pointer}/responses` })
    if (!isObj(responses.value)) return { problems: [`${operation.key} documents no responses`] }
    const status = String(exchange.status)
    const statusKey = [status, `${status[0]}XX`, 'default'].find((key) => key in (responses.value as Obj))
    if (!statusKey) return { problems: [`status ${status} is not documented for ${operation.key} (documented: ${Object.keys(responses.value).join(', ')})`] }
    const documented = this.resolve({ value: (responses.value as Obj)[statusKey], pointer: `${responses.pointer}/${escapePointer(statusKey)}` })
    const where = `${operation.key} ${statusKey}`
    if (!isObj(documented.value)) return { problems: [`${where}: not a response object`] }

    // Headers (Content-Type is described by content, not headers).
    const headers = isObj(documented.value.headers) ? documented.value.headers : {}
    for (const [name, rawHeader] of Object.entries(headers)) {
      if (name.toLowerCase() === 'content-type') continue
      const header = this.resolve({ value: rawHeader, pointer: `${documented.pointer}/headers/${escapePointer(name)}` })
      if (!isObj(header.value)) continue
      const value = headerValue(exchange.headers, name)
      if (value === undefined) {
        if (header.value.required === true) problems.push(`${where}: the required header ${name} is missing`)
        continue
      }
      if (!isObj(header.value.schema)) continue
      const schemaPointer = `${header.pointer}/schema`
      const type = this.resolve({ value: header.value.schema, pointer: schemaPointer }).value as Obj
      const instance = (type.type === 'integer' || type.type === 'number') && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value
      problems.push(...this.validate(schemaPointer, instance).map((p) => `${where}: header ${name}: ${p}`))
    }

    // Content.
    const content = isObj(documented.value.content) ? documented.value.content : {}
    if (Object.keys(content).length === 0) {
      if (exchange.text !== '') problems.push(`${where}: documents no content, but the body has ${exchange.text.length} characters`)
      return { problems, statusKey }
    }
    const contentType = headerValue(exchange.headers, 'content-type')
    if (!contentType) return { problems: [...problems, `${where}: no Content-Type (documented: ${Object.keys(content).join(', ')})`] }
    const media = contentType.split(';')[0]!.trim().toLowerCase()
    const [type] = media.split('/')
    const mediaKey = [media, `${type}/*`, '*/*'].find((key) => Object.keys(content).some((k) => k.toLowerCase() === key))
    if (!mediaKey) return { problems: [...problems, `${where}: Content-Type ${contentType} is not documented (documented: ${Object.keys(content).join(', ')})`] }
    const documentedKey = Object.keys(content).find((k) => k.toLowerCase() === mediaKey)!
    const mediaObject = content[documentedKey]
    if (!isObj(mediaObject) || mediaObject.schema === undefined || !/^application\/(?:[\w.+-]+\+)?json$/.test(media)) return { problems, statusKey }
    let body: unknown
    try {
      body = JSON.parse(exchange.text)
    } catch (error) {
      return { problems: [...problems, `${where}: the body is not JSON (${(error as Error).message}): ${exchange.text.slice(0, 120)}`] }
    }
    const schemaPointer = `${documented.pointer}/content/${escapePointer(documentedKey)}/schema`
    problems.push(...this.validate(schemaPointer, body).map((p) => `${where}: body ${p}`))
    return { problems, statusKey }
  }

  /** Throws an AssertionError listing every way `response` differs from the document. */
  assertConforms(response: Exchange | SuperagentLike, context?: string): void {
    const exchange = exchangeOf(response)
    const problems = this.problems(exchange)
    if (problems.length === 0) return
    const path = exchange.url.replace(/^https?:\/\/[^/]+/, '')
    throw new AssertionError({
      message: `${context ? `${context}: ` : ''}${exchange.method.toUpperCase()} ${path} → ${exchange.status} does not match the OpenAPI document:\n  - ${problems.join('\n  - ')}\n  body: ${exchange.text.slice(0, 300)}`,
    })
  }

  /** The documented responses no conforming response has shown yet, as 'METHOD /template STATUS'. */
  uncovered(): string[] {
    const missing: string[] = []
    for (const { key, operation } of this.operations()) {
      const responses = this.resolve({ value: operation.value.responses, pointer: `${operation.pointer}/responses` }).value
      for (const status of Object.keys(isObj(responses) ? responses : {})) {
        if (!this.covered.has(`${key} ${status}`)) missing.push(`${key} ${status}`)
      }
    }
    return missing
  }

  /** Every operation of the document, as 'METHOD /template'. */
  operations(): { key: string; operation: Located<Obj> }[] {
    const found: { key: string; operation: Located<Obj> }[] = []
    const paths = isObj(this.document.paths) ? this.document.paths : {}
    for (const [template, rawItem] of Object.entries(paths)) {
      const item = this.resolve({ value: rawItem, pointer: `/paths/${escapePointer(template)}` })
      if (!isObj(item.value)) continue
      for (const method of HTTP_METHODS) {
        const operation = item.value[method]
        if (isObj(operation)) found.push({ key: `${method.toUpperCase()} ${template}`, operation: { value: operation, pointer: `${item.pointer}/${method}` } })
      }
    }
    return found
  }

  private operationFor(method: string, url: string): { key: string; operation: Located<Obj> } | string {
    const pathname = new URL(url, 'http://server.invalid').pathname
    if (this.basePath !== '' && pathname !== this.basePath && !pathname.startsWith(`${this.basePath}/`)) {
      return `${pathname} is not below the document's server URL (${this.basePath})`
    }
    const relative = pathname.slice(this.basePath.length) || '/'
    const paths = isObj(this.document.paths) ? Object.keys(this.document.paths) : []
    const segments = relative.split('/')
    const matches = (template: string) => {
      const parts = template.split('/')
      return parts.length === segments.length && parts.every((part, i) => (/^\{[^}]+\}$/.test(part) ? segments[i] !== '' : part === segments[i]))
    }
    // A concrete path wins over a templated one (OpenAPI: "concrete paths are matched before templated").
    const template = paths.find((p) => p === relative) ?? paths.find(matches)
    if (!template) return `no path of the document matches ${relative}`
    const key = `${method.toUpperCase()} ${template}`
    const operation = this.operations().find((o) => o.key === key)
    if (!operation) return `the document has no ${method.toUpperCase()} operation on ${template}`
    return { key, operation: operation.operation }
  }

  /** Follows a `$ref` (to the document itself) once or more; keeps the pointer of where the object really is. */
  private resolve<T>(located: Located<T>): Located<unknown> {
    let current: Located<unknown> = located
    for (let depth = 0; depth < 10 && isObj(current.value) && typeof current.value.$ref === 'string'; depth++) {
      const ref = current.value.$ref as string
      if (!ref.startsWith('#/')) throw new Error(`only references into the document are supported: ${ref}`)
      const pointer = ref.slice(1)
      const value = pointer
        .slice(1)
        .split('/')
        .map(unescapePointer)
        .reduce<unknown>((at, part) => (isObj(at) || Array.isArray(at) ? (at as Obj)[part] : undefined), this.document)
      if (value === undefined) throw new Error(`${current.pointer}: unresolved reference ${ref}`)
      current = { value, pointer }
    }
    return current
  }

  private validate(schemaPointer: string, instance: unknown): string[] {
    let validate = this.validators.get(schemaPointer)
    if (!validate) {
      try {
        validate = this.ajv.compile({ $ref: `${DOCUMENT_ID}#${schemaPointer.split('/').map((part) => encodeURIComponent(part).replace(/%7E/gi, '~')).join('/')}` })
      } catch (error) {
        return [`the schema at #${schemaPointer} cannot be used: ${(error as Error).message}`]
      }
      this.validators.set(schemaPointer, validate)
    }
    return validate(instance) ? [] : describeErrors(validate.errors ?? [])
  }
}
