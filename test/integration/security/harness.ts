// The security suite's harness: the real app on a fresh test database, the demo people signed in through the real
// development provider, and the means to tell whether a request changed anything (a fingerprint of every table).
//
// Who acts in the suite (seeders/demoPeople.ts):
//   citizen dorte (custody of emil, 9), another citizen anne;
//   staff henrik (biobank admin, RH), stine (registrar, RH), mette (biobank admin, RM, "another biobank"),
//   revisor (auditor, every biobank, changes nothing).
import crypto from 'node:crypto'
import { QueryTypes } from 'sequelize'
import { startTestApp, type TestApp } from '../../support/testApp.ts'
import { csrfTokenOf, login, newAgent, type Agent } from '../../support/oidcFlow.ts'
import { demoCitizens, demoStaff } from '../../../seeders/demoPeople.ts'
import { cprFor } from '../../../seeders/fictitiousCpr.ts'
import { createApp } from '../../../server/app.ts'
import { listRoutes, type AppRoute } from './routes.ts'

export type CitizenId = 'dorte' | 'anne' | 'emil' | 'frida' | 'bo' | 'carl'
export type StaffId = 'henrik' | 'stine' | 'mette' | 'revisor'
export type ActorId = CitizenId | StaffId

export type Response = Awaited<ReturnType<Agent['get']>>

export const isCitizenId = (id: ActorId): id is CitizenId => demoCitizens.some((c) => c.userId === id)
export const isStaffId = (id: ActorId): id is StaffId => demoStaff.some((s) => s.userId === id)

/** Payloads that would run script if a page put them out unescaped: as text, and breaking out of an attribute. */
export const XSS_PAYLOADS = ['<script>alert(1)</script>', `"'><img src=x onerror=alert(1)>`] as const

/** What must never appear in an HTML response once a payload went in: the payload's markup, unescaped. */
export const RAW_MARKUP = ['<script>alert(1)</script>', '<img src=x onerror=alert(1)>', `"'><img`, `'><img`, '"><img'] as const

let cprSerial = 0
/** A fictitious CPR number of a person the test database does not know (7th digit 3: 1900s, used by no seeder here). */
export function freshCpr(): string {
  cprSerial += 1
  const birth = new Date(Date.UTC(1951 + (cprSerial % 40), cprSerial % 12, 1 + (cprSerial % 27)))
  return cprFor(birth, 3000 + ((cprSerial * 37 + crypto.randomInt(0, 900)) % 1000))
}

let labelSerial = 0
/** A sample label no other sample has. */
export const freshLabel = () => `SEC-${Date.now().toString(36)}-${++labelSerial}`

/** Runs `work` on every item, `width` at a time, in order of the items (for requests that change nothing). */
export async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = []
  for (let i = 0; i < items.length; i += width) results.push(...(await Promise.all(items.slice(i, i + width).map(work))))
  return results
}

/**
 * Columns that record when something was last used rather than what a request did; the fingerprint leaves them out.
 * An API key's last_used_at is written (at most once a minute) by any request carrying the key, refused or not.
 */
const BOOKKEEPING_COLUMNS: Record<string, string[]> = {
  api_clients: ['last_used_at'],
}

export class SecurityContext {
  readonly app: TestApp
  private readonly agents = new Map<ActorId, Promise<Agent>>()
  private readonly memo = new Map<string, Promise<unknown>>()

  constructor(app: TestApp) {
    this.app = app
  }

  static async start(environment: Record<string, string> = {}): Promise<SecurityContext> {
    return new SecurityContext(await startTestApp(environment))
  }

  get baseUrl(): string {
    return this.app.baseUrl
  }

  get services() {
    return this.app.services
  }

  async close(): Promise<void> {
    await this.app.close()
  }

  /** Every (method, path) of a freshly assembled app on these services: new routes show up here by themselves. */
  routes(): AppRoute[] {
    return listRoutes(createApp(this.services))
  }

  /** `actor`, signed in through the real provider (one session per actor and context, made on first use). */
  as(actor: ActorId): Promise<Agent> {
    let agent = this.agents.get(actor)
    if (!agent) {
      agent = this.signIn(actor)
      this.agents.set(actor, agent)
    }
    return agent
  }

  /** A new session of `actor`, for requests that end or change their session. */
  async signIn(actor: ActorId): Promise<Agent> {
    const agent = newAgent()
    await login(agent, this.baseUrl, isCitizenId(actor) ? 'citizen' : 'staff', actor)
    return agent
  }

  /** Memoises an async value for the life of the context (ids made once, used by many checks). */
  once<T>(key: string, make: () => Promise<T>): Promise<T> {
    let value = this.memo.get(key) as Promise<T> | undefined
    if (!value) {
      value = make()
      this.memo.set(key, value)
    }
    return value
  }

  get(agent: Agent | undefined, path: string): Promise<Response> {
    const request = agent ? agent.get(this.url(path)) : newAgent().get(this.url(path))
    return request.redirects(0).ok(() => true)
  }

  /** A form POST (urlencoded), not following redirects. */
  postForm(agent: Agent | undefined, path: string, body: Record<string, string>, method = 'POST'): Promise<Response> {
    const client = agent ?? newAgent()
    const request = client[method.toLowerCase() as 'post'](this.url(path))
    return request.type('form').send(body).redirects(0).ok(() => true)
  }

  url(path: string): string {
    return path.startsWith('http') ? path : `${this.baseUrl}${path}`
  }

  /** The CSRF token of the actor's session (every signed-in page carries it in the Log ud form). */
  async csrfOf(agent: Agent, kind: 'citizen' | 'staff'): Promise<string> {
    const page = await this.get(agent, kind === 'citizen' ? '/borger' : '/medarbejder')
    return csrfTokenOf(page.text)
  }

  async csrf(actor: ActorId): Promise<string> {
    return this.csrfOf(await this.as(actor), isCitizenId(actor) ? 'citizen' : 'staff')
  }

  async query<T extends object>(sql: string, replacements: Record<string, unknown> = {}): Promise<T[]> {
    return this.services.database.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT })
  }

  /** The donor id of a demo citizen. */
  donorIdOf(citizen: CitizenId): Promise<number> {
    return this.once(`donor:${citizen}`, async () => {
      const cpr = demoCitizens.find((c) => c.userId === citizen)!.cpr
      const [row] = await this.query<{ id: number }>('select id from donors where cpr_hmac = :hmac', { hmac: this.services.cpr.hash(cpr) })
      if (!row) throw new Error(`demo citizen ${citizen} is not in the test database`)
      return Number(row.id)
    })
  }

  /**
   * A digest of every table the app can write (sessions excepted: reading a page touches them). Equal before and
   * after a request means the request changed nothing; tables added by later migrations are included by themselves.
   */
  async fingerprint(): Promise<string> {
    const tables = await this.query<{ name: string }>(
      "select tablename as name from pg_tables where schemaname = 'public' and tablename <> 'sessions' order by tablename",
    )
    const parts: string[] = []
    for (const { name } of tables) {
      const quoted = `"${name.replace(/"/g, '""')}"`
      const volatile = BOOKKEEPING_COLUMNS[name]
      const text = volatile ? `(to_jsonb(t) - array[${volatile.map((c) => `'${c}'`).join(', ')}])::text` : 't::text'
      const [row] = await this.query<{ digest: string | null; n: string }>(`select md5(string_agg(${text}, '|' order by ${text})) as digest, count(*) as n from ${quoted} t`)
      parts.push(`${name}:${row!.n}:${row!.digest ?? ''}`)
    }
    return parts.join('\n')
  }

  /**
   * Waits until nothing changes any more (two equal fingerprints in a row, at most ~10 s): work an accepted request
   * started in the background (an import job) must not be taken for an effect of the next request.
   */
  async settled(): Promise<void> {
    let last = await this.fingerprint()
    for (let i = 0; i < 50; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      const next = await this.fingerprint()
      if (next === last) return
      last = next
    }
    throw new Error('the database kept changing for 10 seconds after a request')
  }

  /** The tables whose content differs between two fingerprints (for readable failure messages). */
  static changedTables(before: string, after: string): string[] {
    const a = new Map(before.split('\n').map((line) => [line.split(':')[0]!, line]))
    return after
      .split('\n')
      .filter((line) => a.get(line.split(':')[0]!) !== line)
      .map((line) => line.split(':')[0]!)
  }

  /**
   * What a signed-in user sees of their own session: the status of their start page and the "signed in as" line
   * (name, role, the child a parent acts for). Changes when a request signs out or switches whom a parent acts for.
   */
  async sessionState(agent: Agent, kind: 'citizen' | 'staff'): Promise<string> {
    const page = await this.get(agent, kind === 'citizen' ? '/borger' : '/medarbejder')
    const line = /<strong>[^<]*<\/strong>[^<]*/.exec(page.text)?.[0] ?? ''
    return `${page.status} ${page.headers.location ?? ''} ${line.trim()}`
  }
}

/** The text of an HTML page without its per-session and per-request parts, to compare two answers. */
export function comparable(html: string, ...ids: string[]): string {
  let text = html.replace(/name="_csrf" value="[^"]*"/g, 'name="_csrf" value=""')
  // A long id (a UUID, a receipt) wherever it appears; a short one (an API key's number) only as a path segment, so
  // it does not replace the same digits in other text (initial-scale=1).
  const literal = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  for (const id of ids) {
    const either = `(?:${literal(id)}|${literal(encodeURIComponent(id))})`
    text = text.replace(new RegExp(id.length >= 8 ? either : `(?<=/)${either}(?![\\w-])`, 'g'), '{id}')
  }
  return text
}

/** The page's `<h1>`, for messages. */
export const headingOf = (html: string) => /<h1[^>]*>([\s\S]*?)<\/h1>/.exec(html)?.[1]?.trim() ?? '(no h1)'

/** A V8 stack frame, which no page may show outside development. */
export const STACK_FRAME = /^\s+at .+[(/\\]/m

/** A complete, friendly HTML page: the page frame with one h1, and no stack trace. */
export function isCleanPage(response: Response): boolean {
  const html = response.text ?? ''
  return /text\/html/.test(String(response.headers['content-type'])) && /<h1[\s>]/.test(html) && /<\/html>\s*$/.test(html) && !STACK_FRAME.test(html)
}
