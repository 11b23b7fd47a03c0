// What the security suite knows about the app's routes, as tables. The routes themselves are read from the app
// (routes.ts); a route the tables cannot exercise makes test/integration/security/routeInventory.test.ts fail,
// so a new route is covered by adding an entry here, never silently left out.
//
//   PARAMS         a path parameter name → how to get an id the actor may use, and the ids that must be refused
//   STATE_CHANGES  every state-changing route (outside /oidc and /api) → who makes it, and a body the app acts on
//   STAFF_PAGES    which staff user opens a staff page (default henrik, biobank admin of RH)
//   API            every /api route: whether it needs a key, its JSON body, its rate limit; the keys to use
import crypto from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { Agent } from '../../support/oidcFlow.ts'
import { demoCitizens, demoStaff } from '../../../seeders/demoPeople.ts'
import type { CitizenSubject } from '../../../server/services/citizenService.ts'
import type { StaffSessionUser } from '../../../server/services/authService.ts'
import type { ApiClient } from '../../../server/services/apiClientService.ts'
import { MAX_LABEL_FILE_BYTES } from '../../../routes/staff/research.ts'
import { completed, formPostingTo } from './forms.ts'
import { freshCpr, freshLabel, headingOf, type ActorId, type CitizenId, type SecurityContext, type StaffId } from './harness.ts'
import { audienceOf, isStateChanging, paramsOf, routeKey, unsupportedSyntax, type AppRoute, type Audience } from './routes.ts'

// -------------------------------------------------------------------------------------------------------------
// Path parameters
// -------------------------------------------------------------------------------------------------------------

export interface ParamSource {
  /**
   * An id the route's usual actor may use: for citizen routes one of dorte's own; for staff routes an object of
   * biobank RH (henrik's and stine's biobank); for API routes one the RH key (API.headers) may read.
   */
  own(ctx: SecurityContext): Promise<string>
  /** Citizen routes: ids of the same kind that are not dorte's (another citizen's; a child's while she acts for herself). */
  othersOfCitizens?(ctx: SecurityContext): Promise<string[]>
  /** A well-formed id that names nothing. */
  missing: string
  /**
   * Staff routes: what a staff user of another biobank (mette, RM) gets for the RH id, as the service documents it.
   * SampleNotFoundError (server/services/sampleService.ts) answers 404 for a sample the user may not read; the
   * eligibility service answers 403 for another biobank's project or check (assertStaffMay 'release').
   * API routes: what a key of another biobank (RM) gets for the RH id.
   */
  otherBiobank?: 403 | 404
}

const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000'
const UNKNOWN_RECEIPT = 'VAR-2026-ZZZZZZZZ'
const UNKNOWN_NUMBER = '999999999'
const UNKNOWN_JOB = '0'.repeat(32)

/** A sample of the citizen (the newest primary one in stock, so it can still be changed and derived from). */
async function sampleOf(ctx: SecurityContext, citizen: CitizenId): Promise<string> {
  return ctx.once(`sample:${citizen}`, async () => {
    const [row] = await ctx.query<{ public_id: string }>(
      "select public_id from samples where donor_id = :donorId order by (availability = 'available') desc, collected_at desc limit 1",
      { donorId: await ctx.donorIdOf(citizen) },
    )
    if (!row) throw new Error(`${citizen} has no sample in the test database`)
    return row.public_id
  })
}

async function subjectOf(ctx: SecurityContext, citizen: CitizenId): Promise<CitizenSubject> {
  const person = demoCitizens.find((c) => c.userId === citizen)!
  const subject = await ctx.services.citizen.resolveSubject({ kind: 'citizen', donorId: await ctx.donorIdOf(citizen), name: person.name, loa: 'Substantial' })
  if (subject === 'childNoLongerAvailable') throw new Error('unexpected')
  return subject
}

/** A receipt of a digital opt-out change by the citizen (made through the service: the receipt is the fixture). */
async function receiptOf(ctx: SecurityContext, citizen: CitizenId): Promise<string> {
  return ctx.once(`receipt:${citizen}`, async () => {
    const subject = await subjectOf(ctx, citizen)
    const choices = await ctx.services.citizen.choicesOf(subject.donorId)
    const result = await ctx.services.optOuts.change({ kind: 'citizen', subject }, { choice: 'genetic', optOut: !choices.genetic, formToken: crypto.randomUUID() })
    if (result.outcome === 'unchanged') throw new Error('no receipt made')
    return result.receipt.reference
  })
}

/** The session user of a staff member as the sign-in made it (signs them in first). */
export async function staffUser(ctx: SecurityContext, staff: StaffId): Promise<StaffSessionUser> {
  await ctx.as(staff)
  const [row] = await ctx.query<{ id: number; name: string; role: StaffSessionUser['role']; biobank_id: number | null; code: string | null }>(
    `select su.id, su.name, su.role, su.biobank_id, b.code from staff_users su left join biobanks b on b.id = su.biobank_id
      where su.issuer = :issuer and su.name = :name`,
    { issuer: ctx.services.config.auth.staff.issuer, name: demoStaff.find((s) => s.userId === staff)!.name },
  )
  if (!row) throw new Error(`${staff} is not signed in`)
  return { kind: 'staff', staffUserId: Number(row.id), name: row.name, role: row.role, biobankId: row.biobank_id, biobankCode: row.code }
}

// -------------------------------------------------------------------------------------------------------------
// Research release, API keys and import jobs of biobank RH (made through the services: they are the fixtures)
// -------------------------------------------------------------------------------------------------------------

/**
 * RH sample labels a material-purpose project may have (in stock, donor without a material opt-out), `count` of
 * them, then one label that names no sample.
 */
export async function researchLabels(ctx: SecurityContext, count = 3): Promise<string[]> {
  const rows = await ctx.query<{ label: string }>(
    `select s.label from samples s join biobanks b on b.id = s.biobank_id left join opt_outs o on o.donor_id = s.donor_id
      where b.code = 'RH' and s.availability = 'available' and not coalesce(o.material, false) order by s.label limit :count`,
    { count },
  )
  return [...rows.map((r) => r.label), 'SEC-NOT-A-SAMPLE']
}

/** henrik's research project (RH, purpose material): the project id the research routes use. */
export const researchProject = (ctx: SecurityContext): Promise<number> =>
  ctx.once('project:RH', async () => {
    const result = await ctx.services.eligibility.createProject(await staffUser(ctx, 'henrik'), {
      title: 'Sikkerhedstestens projekt',
      reference: 'SEC-RH-1',
      approvalId: 'VEK-H-26000001',
      purpose: 'material',
    })
    if ('error' in result) throw new Error(`no research project: ${result.error}`)
    return result.project.id
  })

/** An API key of the biobank of admin `staff` (henrik: RH, mette: RM), issued once and never revoked by the suite. */
export const apiKeyOf = (ctx: SecurityContext, staff: 'henrik' | 'mette'): Promise<string> =>
  ctx.once(`apiKey:${staff}`, async () => (await ctx.services.apiClients.issue(await staffUser(ctx, staff), `security suite ${staff}`)).key)

/** A key of RH that worked and was then revoked. */
export const revokedApiKey = (ctx: SecurityContext): Promise<string> =>
  ctx.once('apiKey:revoked', async () => {
    const henrik = await staffUser(ctx, 'henrik')
    const issued = await ctx.services.apiClients.issue(henrik, 'security suite revoked')
    if (!(await ctx.services.apiClients.authenticate(issued.key))) throw new Error('the new key does not work')
    if (!(await ctx.services.apiClients.revoke(henrik, issued.client.id))) throw new Error('the key was not revoked')
    return issued.key
  })

async function apiClientOf(ctx: SecurityContext, key: string): Promise<ApiClient> {
  const client = await ctx.services.apiClients.authenticate(key)
  if (!client) throw new Error('the API key does not work')
  return client
}

/** A stored check of henrik's project: asked by henrik on the web ('staff') or by the RH key ('api'). */
export const researchCheck = (ctx: SecurityContext, by: 'staff' | 'api'): Promise<string> =>
  ctx.once(`check:${by}`, async () => {
    const requester = by === 'staff' ? ({ kind: 'staff', user: await staffUser(ctx, 'henrik') } as const) : ({ kind: 'apiClient', client: await apiClientOf(ctx, await apiKeyOf(ctx, 'henrik')) } as const)
    const summary = await ctx.services.eligibility.checkLabels(requester, await researchProject(ctx), await researchLabels(ctx), { source: by === 'staff' ? 'list' : 'api' })
    if (summary.eligible === 0) throw new Error('the fixture check found no eligible sample (its CSV would be empty)')
    return summary.id
  })

/** One CSV row for the sample import: a new serum sample of a person the database does not know. */
export const importCsv = (rows: string[] = [`${freshLabel()},${freshCpr()},serum,2025-03-12,-60to-85,,1,mL,,,,available`]) =>
  Buffer.from(
    'sample_label,donor_cpr,material_type,collected_at,storage_temperature,parent_label,quantity,quantity_unit,storage_location,sprec,diagnosis,availability\r\n' +
      rows.map((row) => `${row}\r\n`).join(''),
  )

/** A finished dry-run import job of henrik's (jobs live in the app's process; their owner alone sees them). */
const importJob = (ctx: SecurityContext): Promise<string> =>
  ctx.once('importJob:henrik', async () => {
    const file = path.join(os.tmpdir(), `security-suite-${crypto.randomUUID()}.csv`)
    await fs.promises.writeFile(file, importCsv())
    const job = await ctx.services.imports.startJob(await staffUser(ctx, 'henrik'), { path: file, fileName: 'proever.csv', dryRun: true })
    // Waits for it: its audit event must not land in another check's before/after comparison.
    await ctx.services.imports.idle()
    return job.id
  })

/**
 * An API key of RH that is not revoked, for the route that revokes one: the same key until a request revokes it,
 * then a new one.
 */
async function revocableClient(ctx: SecurityContext): Promise<string> {
  const name = 'security suite revocable'
  const [active] = await ctx.query<{ id: number }>(
    "select c.id from api_clients c join biobanks b on b.id = c.biobank_id where b.code = 'RH' and c.name = :name and c.revoked_at is null order by c.id limit 1",
    { name },
  )
  if (active) return String(active.id)
  return String((await ctx.services.apiClients.issue(await staffUser(ctx, 'henrik'), name)).client.id)
}

export const PARAMS: Record<Audience, Record<string, ParamSource>> = {
  citizen: {
    // /borger/proever/:publicId
    publicId: {
      own: (ctx) => sampleOf(ctx, 'dorte'),
      // anne's; emil's while dorte acts for herself; frida's (15: out of dorte's custody).
      othersOfCitizens: async (ctx) => Promise.all((['anne', 'emil', 'frida'] as const).map((c) => sampleOf(ctx, c))),
      missing: UNKNOWN_UUID,
    },
    // /borger/fravalg/kvittering/:reference
    reference: {
      own: (ctx) => receiptOf(ctx, 'dorte'),
      othersOfCitizens: async (ctx) => Promise.all((['anne', 'bo'] as const).map((c) => receiptOf(ctx, c))),
      missing: UNKNOWN_RECEIPT,
    },
  },
  staff: {
    // /medarbejder/proever/:publicId (and /rediger, /haendelser, /afledt): a sample of biobank RH in stock, one of
    // anne's, so what staff write about it can be followed onto the citizen's own pages.
    publicId: {
      own: (ctx) =>
        ctx.once('sample:RH', async () => {
          const [row] = await ctx.query<{ public_id: string }>(
            `select s.public_id from samples s join biobanks b on b.id = s.biobank_id
              where b.code = 'RH' and s.availability = 'available' order by (s.donor_id = :anne) desc, s.id limit 1`,
            { anne: await ctx.donorIdOf('anne') },
          )
          return row!.public_id
        }),
      missing: UNKNOWN_UUID,
      otherBiobank: 404,
    },
    // /medarbejder/fravalg/kvittering/:reference: a paper receipt henrik (RH) registered. paperReceipt answers null
    // (404) for any receipt the admin did not register.
    reference: {
      own: (ctx) =>
        ctx.once('paperReceipt:henrik', async () => {
          const result = await ctx.services.optOuts.registerOnPaper(await staffUser(ctx, 'henrik'), {
            cpr: freshCpr(),
            choice: 'material',
            optOut: true,
            formToken: crypto.randomUUID(),
          })
          if ('error' in result || result.outcome === 'unchanged') throw new Error('no paper receipt made')
          return result.receipt.reference
        }),
      missing: UNKNOWN_RECEIPT,
      otherBiobank: 404,
    },
    // /medarbejder/forskning/projekter/:projectId (and /tjek, /tjek/fil)
    projectId: { own: async (ctx) => String(await researchProject(ctx)), missing: UNKNOWN_NUMBER, otherBiobank: 404 },
    // /medarbejder/forskning/tjek/:checkId (and /eligible.csv)
    checkId: { own: (ctx) => researchCheck(ctx, 'staff'), missing: UNKNOWN_UUID, otherBiobank: 404 },
    // /medarbejder/forskning/api-noegler/:clientId/spaer: revoke answers 404 for a key that is not an active key of
    // the admin's own biobank.
    clientId: { own: revocableClient, missing: UNKNOWN_NUMBER, otherBiobank: 404 },
    // /medarbejder/import/:jobId: a job is its owner's only; anyone else's is as good as missing.
    jobId: { own: importJob, missing: UNKNOWN_JOB, otherBiobank: 404 },
  },
  public: {},
  auth: {},
  api: {
    // /api/v1/eligibility/:checkId: a check the RH key asked for; another biobank's key gets what a missing id gets.
    checkId: { own: (ctx) => researchCheck(ctx, 'api'), missing: UNKNOWN_UUID, otherBiobank: 404 },
  },
  oidc: {},
}

// -------------------------------------------------------------------------------------------------------------
// State-changing routes
// -------------------------------------------------------------------------------------------------------------

/** Valid values for text fields the page leaves empty, by field name (see forms.ts `completed`). */
export const TYPED_VALUES: Record<string, () => string> = {
  label: freshLabel,
  donorCpr: () => {
    const cpr = freshCpr()
    return `${cpr.slice(0, 6)}-${cpr.slice(6)}`
  },
  cpr: freshCpr,
  collectedDate: () => '12-03-2025',
  collectedTime: () => '08:40',
  // Selects left on their empty first option get their first real option, so a unit is chosen: give a quantity.
  quantity: () => '1',
  // A research project (references are unique within a biobank) and an API key's name.
  title: () => 'Sikkerhedstest af forskningsprojekt',
  reference: freshLabel,
  approvalId: () => 'VEK-H-26000002',
  name: () => `security suite key ${freshLabel()}`,
}

export interface StateChangeSpec {
  /** Who makes the request (a user who may). */
  actor: ActorId
  /** Use a new session each time: the request ends the session or changes whom it acts for. */
  freshSession?: boolean
  /** Brings the session into the state the request changes (e.g. acting for a child). */
  prepare?(ctx: SecurityContext, agent: Agent): Promise<void>
  /**
   * The page whose form posts here (ids filled in as for the route); default: the route's own path. The body is
   * that form as a user completes it (forms.ts `completed`, TYPED_VALUES), then `overrides`.
   */
  page?: string
  overrides?(ctx: SecurityContext): Promise<Record<string, string>> | Record<string, string>
  /** A body built by hand instead of from a form. */
  body?(ctx: SecurityContext): Promise<Record<string, string>>
  /** Multipart upload: the file field, and the size limit the route documents. */
  upload?: { field: string; filename: string; contentType: string; content: () => Buffer; maxBytes(ctx: SecurityContext): number | undefined }
  /** The auditor may make this request (it only reads, e.g. a CPR search); otherwise the auditor gets 403. */
  auditorMay?: boolean
  /**
   * The request changes nothing and its effect is its answer (e.g. a PDF of labels): the content type of that
   * answer. Otherwise an accepted request must change a table or the session.
   */
  answerOnly?: RegExp
}

const actFor = (child: CitizenId) => async (ctx: SecurityContext, agent: Agent) => {
  const token = await ctx.csrfOf(agent, 'citizen')
  const response = await ctx.postForm(agent, '/borger/handl-for', { _csrf: token, child: String(await ctx.donorIdOf(child)) })
  if (response.status !== 303) throw new Error(`could not act for ${child}: ${response.status}`)
}

export const STATE_CHANGES: Record<string, StateChangeSpec> = {
  'POST /auth/logout': { actor: 'anne', freshSession: true, body: async () => ({}) },
  'POST /borger/handl-for': { actor: 'dorte', freshSession: true, body: async (ctx) => ({ child: String(await ctx.donorIdOf('emil')) }) },
  'POST /borger/handl-for-mig-selv': { actor: 'dorte', freshSession: true, prepare: actFor('emil'), body: async () => ({}) },
  'POST /borger/fravalg': {
    actor: 'dorte',
    body: async (ctx) => {
      const choices = await ctx.services.citizen.choicesOf(await ctx.donorIdOf('dorte'))
      return { choice: 'genetic', optOut: choices.genetic ? 'no' : 'yes', formToken: crypto.randomUUID() }
    },
  },
  'POST /medarbejder/proever/ny': { actor: 'henrik' },
  'POST /medarbejder/proever/:publicId/rediger': { actor: 'henrik', overrides: () => ({ quantity: String(1 + crypto.randomInt(1, 900)), quantityUnit: 'mL' }) },
  'POST /medarbejder/proever/:publicId/haendelser': { actor: 'henrik', page: '/medarbejder/proever/:publicId', overrides: () => ({ eventType: 'thawed', note: 'security suite' }) },
  'POST /medarbejder/proever/:publicId/afledt': { actor: 'henrik', overrides: () => ({ lineage: 'aliquot', storageLocation: '' }) },
  'POST /medarbejder/soeg/cpr': { actor: 'henrik', page: '/medarbejder/soeg', auditorMay: true },
  // The label sheet (the search page's "Udskriv etiketter" button posts the ticked samples); printing is audited.
  'POST /medarbejder/etiketter': { actor: 'henrik', body: async (ctx) => ({ sample: await PARAMS.staff.publicId!.own(ctx) }) },
  'POST /medarbejder/fravalg': { actor: 'henrik', overrides: () => ({ choice: 'material', optOut: 'yes' }) },
  // The CSV import (multipart, size-limited by the import service).
  'POST /medarbejder/import': {
    actor: 'henrik',
    upload: { field: 'file', filename: 'proever.csv', contentType: 'text/csv', content: () => importCsv(), maxBytes: (ctx) => ctx.services.imports.limits.maxUploadBytes },
    overrides: () => ({ mode: 'import' }),
  },
  // Research release (biobank admins only): a project, a check of a pasted list, of an uploaded file (multipart:
  // its token is checked by the route, multipartCsrfValid) and of search criteria, an API key issued and revoked.
  'POST /medarbejder/forskning/projekter': { actor: 'henrik', page: '/medarbejder/forskning/projekter/ny' },
  'POST /medarbejder/forskning/projekter/:projectId/tjek': {
    actor: 'henrik',
    page: '/medarbejder/forskning/projekter/:projectId',
    overrides: async (ctx) => ({ labels: (await researchLabels(ctx)).join('\n') }),
  },
  'POST /medarbejder/forskning/projekter/:projectId/tjek/fil': {
    actor: 'henrik',
    page: '/medarbejder/forskning/projekter/:projectId',
    upload: {
      field: 'file',
      filename: 'proever.txt',
      contentType: 'text/plain',
      content: () => Buffer.from('sample_label\nRH-2024-000123\nRH-2021-004512\nSEC-NOT-A-SAMPLE\n'),
      maxBytes: () => MAX_LABEL_FILE_BYTES,
    },
  },
  // Every RH sample whose label starts with "RH", for henrik's project.
  'POST /medarbejder/forskning/soegning': { actor: 'henrik', overrides: async (ctx) => ({ project: String(await researchProject(ctx)), label: 'RH' }) },
  'POST /medarbejder/forskning/api-noegler': { actor: 'henrik' },
  'POST /medarbejder/forskning/api-noegler/:clientId/spaer': { actor: 'henrik', page: '/medarbejder/forskning/api-noegler' },
}

/**
 * The body of a state-changing request as the actor's browser would send it (without any CSRF token), with the
 * path's ids already filled in (`path` is the concrete path; `pattern` the route's).
 */
export async function bodyFor(ctx: SecurityContext, spec: StateChangeSpec, agent: Agent, pattern: string, path: string, fill: (p: string) => string): Promise<Record<string, string>> {
  if (spec.body) return spec.body(ctx)
  const page = fill(spec.page ?? pattern)
  const response = await ctx.get(agent, page)
  if (response.status !== 200) throw new Error(`the form page ${page} answered ${response.status} (${headingOf(response.text)})`)
  const form = formPostingTo(response.text, path, page)
  if (!form) throw new Error(`no form on ${page} posts to ${path}`)
  const values = completed(form, TYPED_VALUES)
  delete values._csrf
  return { ...values, ...(await spec.overrides?.(ctx)) }
}

/**
 * Form fields that store free text (anything else is a code, a date, a constrained label or place and refuses
 * markup). A field that stores a script payload and is not listed here fails xss.test.ts until it is added.
 */
export const FREE_TEXT_FIELDS: Record<string, string> = {
  note: 'the note of a sample event (POST /medarbejder/proever/:publicId/haendelser), at most 500 characters',
  title: "a research project's title (POST /medarbejder/forskning/projekter), at most 300 characters",
  reference: "a research project's reference, unique in its biobank, at most 100 characters",
  approvalId: "a research project's approval (e.g. the ethics committee's case number), at most 100 characters",
  name: "an API key's name (POST /medarbejder/forskning/api-noegler), at most 100 characters",
}

/**
 * Fields whose stored value no page and no download shows again: the labels of an eligibility check are stored
 * with the check as its proof, but its answer shows counts and the eligible labels only (which are sample labels).
 */
export const STORED_NOT_SHOWN: Record<string, string> = {
  labels: 'the labels of a pasted list (POST /medarbejder/forskning/projekter/:projectId/tjek)',
}

// -------------------------------------------------------------------------------------------------------------
// Who opens which page
// -------------------------------------------------------------------------------------------------------------

/** Staff pages for one role only: the user who opens them (longest prefix wins); every other page: henrik. */
export const STAFF_PAGES: [prefix: string, actor: StaffId][] = [
  ['/medarbejder/revision', 'revisor'],
  ['/medarbejder/fravalg', 'henrik'],
]

export function staffActorFor(path: string): StaffId {
  const match = STAFF_PAGES.filter(([prefix]) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}.`)).sort((a, b) => b[0].length - a[0].length)[0]
  return match?.[1] ?? 'henrik'
}

// -------------------------------------------------------------------------------------------------------------
// The API (/api, bearer keys, no CSRF)
// -------------------------------------------------------------------------------------------------------------

export interface ApiRouteSpec {
  /** Answered without a key (the API's own description); every other route needs a valid key. */
  public?: boolean
  /** State-changing routes: a JSON body the API acts on. */
  body?(ctx: SecurityContext): Promise<unknown>
  /**
   * The most requests a minute one address (or one key) may make to the route, as routes/api.ts sets them: 300 per
   * address before the key is looked up, 120 per key. The limiters are shared by the routes.
   */
  rateLimit: number
}

export interface ApiSpec {
  /** Headers of a valid API client of biobank RH (`Authorization: Bearer <key>`). */
  headers(ctx: SecurityContext): Promise<Record<string, string>>
  /** Headers of a valid API client of another biobank (RM). */
  otherBiobankHeaders(ctx: SecurityContext): Promise<Record<string, string>>
  /** Authorization headers that must get 401, by what they are (undefined: none at all). */
  refused(ctx: SecurityContext): Promise<Record<string, string | undefined>>
  /** Every /api route read from the app. */
  routes: Record<string, ApiRouteSpec>
}

const bearer = (key: string) => ({ Authorization: `Bearer ${key}` })

export const API: ApiSpec = {
  headers: async (ctx) => bearer(await apiKeyOf(ctx, 'henrik')),
  otherBiobankHeaders: async (ctx) => bearer(await apiKeyOf(ctx, 'mette')),
  refused: async (ctx) => {
    const key = await apiKeyOf(ctx, 'henrik')
    return {
      'no Authorization header': undefined,
      'an empty bearer token': 'Bearer ',
      'the key as Basic credentials': `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
      'the key without "Bearer"': key,
      'a malformed key': 'Bearer not-a-key',
      'a key with one character changed': `Bearer ${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`,
      'an invented key of the right shape': `Bearer bbr_${'A'.repeat(43)}`,
      'a revoked key': `Bearer ${await revokedApiKey(ctx)}`,
    }
  },
  routes: {
    'GET /api/v1/openapi.json': { public: true, rateLimit: 300 },
    'POST /api/v1/eligibility': { body: async (ctx) => ({ project: await researchProject(ctx), labels: await researchLabels(ctx) }), rateLimit: 120 },
    'GET /api/v1/eligibility/:checkId': { rateLimit: 120 },
  },
}

// -------------------------------------------------------------------------------------------------------------
// Coverage
// -------------------------------------------------------------------------------------------------------------

/** Why the suite cannot exercise each of `routes`; empty when it can exercise them all. */
export function coverageProblems(routes: readonly AppRoute[]): string[] {
  const problems: string[] = []
  for (const route of routes) {
    const key = routeKey(route)
    const audience = audienceOf(route.path)
    if (audience === 'oidc') continue // the development provider, never mounted in production
    const syntax = unsupportedSyntax(route.path)
    if (syntax) problems.push(`${key}: ${syntax}`)
    if (route.method === 'ALL') problems.push(`${key}: router.all() answers every method; register the methods it serves`)
    for (const name of paramsOf(route.path)) {
      const source = PARAMS[audience][name]
      if (!source) problems.push(`${key}: unknown parameter :${name} for ${audience} routes; add PARAMS.${audience}.${name} in test/integration/security/table.ts`)
      else if (audience === 'citizen' && !source.othersOfCitizens) problems.push(`${key}: PARAMS.citizen.${name} needs othersOfCitizens (ids of other citizens that must answer 404)`)
      else if ((audience === 'staff' || audience === 'api') && source.otherBiobank === undefined) problems.push(`${key}: PARAMS.${audience}.${name} needs otherBiobank (the status another biobank's staff or key get)`)
    }
    if (audience === 'api') {
      const spec = API.routes[key]
      if (!spec) problems.push(`${key}: an /api route without an entry in API.routes in test/integration/security/table.ts (key or public, body, rate limit)`)
      else if (isStateChanging(route) && !spec.body) problems.push(`${key}: no JSON body in API.routes`)
    } else if (isStateChanging(route) && !STATE_CHANGES[key]) {
      problems.push(`${key}: a state-changing route without an entry in STATE_CHANGES (who makes it, with what body)`)
    }
  }
  return problems
}
