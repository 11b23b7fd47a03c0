// What the security suite knows about the app's routes, as tables. The routes themselves are read from the app
// (routes.ts); a route the tables cannot exercise makes test/integration/security/routeInventory.test.ts fail,
// so a new route is covered by adding an entry here, never silently left out.
//
//   PARAMS         a path parameter name → how to get an id the actor may use, and the ids that must be refused
//   STATE_CHANGES  every state-changing route (outside /oidc and /api) → who makes it, and a body the app acts on
//   STAFF_PAGES    which staff user opens a staff page (default henrik, biobank admin of RH)
//   API            the /api client (bearer key, rate limit setting) once /api routes exist
import crypto from 'node:crypto'
import type { Agent } from '../../support/oidcFlow.ts'
import { demoCitizens, demoStaff } from '../../../seeders/demoPeople.ts'
import type { CitizenSubject } from '../../../server/services/citizenService.ts'
import type { StaffSessionUser } from '../../../server/services/authService.ts'
import { completed, formPostingTo } from './forms.ts'
import { freshCpr, freshLabel, headingOf, type ActorId, type CitizenId, type SecurityContext, type StaffId } from './harness.ts'
import { audienceOf, isNotYetCovered, isStateChanging, paramsOf, routeKey, unsupportedSyntax, type AppRoute, type Audience } from './routes.ts'

// -------------------------------------------------------------------------------------------------------------
// Path parameters
// -------------------------------------------------------------------------------------------------------------

export interface ParamSource {
  /**
   * An id the route's usual actor may use: for citizen routes one of dorte's own; for staff routes an object of
   * biobank RH (henrik's and stine's biobank).
   */
  own(ctx: SecurityContext): Promise<string>
  /** Citizen routes: ids of the same kind that are not dorte's (another citizen's; a child's while she acts for herself). */
  othersOfCitizens?(ctx: SecurityContext): Promise<string[]>
  /** A well-formed id that names nothing. */
  missing: string
  /**
   * Staff routes: what a staff user of another biobank (mette, RM) gets for the RH id, as the service documents it.
   * SampleNotFoundError (server/services/sampleService.ts) answers 404 for a sample the user may not read.
   */
  otherBiobank?: 403 | 404
}

const UNKNOWN_UUID = '00000000-0000-4000-8000-000000000000'
const UNKNOWN_RECEIPT = 'VAR-2026-ZZZZZZZZ'

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
  },
  public: {},
  auth: {},
  api: {},
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
  // The CSV import (multipart, size-limited by the import service); exercised once the route exists.
  'POST /medarbejder/import': {
    actor: 'henrik',
    upload: {
      field: 'file',
      filename: 'proever.csv',
      contentType: 'text/csv',
      content: () =>
        Buffer.from(
          'sample_label,donor_cpr,material_type,collected_at,storage_temperature,parent_label,quantity,quantity_unit,storage_location,sprec,diagnosis,availability\r\n' +
            `${freshLabel()},${freshCpr()},serum,2025-03-12,-60to-85,,1,mL,,,,available\r\n`,
        ),
      maxBytes: (ctx) => (ctx.services as unknown as { imports?: { limits?: { maxUploadBytes?: number } } }).imports?.limits?.maxUploadBytes,
    },
    overrides: () => ({ mode: 'import' }),
  },
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

export interface ApiSpec {
  /** Headers of a valid API client (e.g. `Authorization: Bearer <key>` for a key made for the test). */
  headers(ctx: SecurityContext): Promise<Record<string, string>>
  /** The configuration variable that sets the API's requests per minute, and a small value for a test app. */
  rateLimit: { env: string; perMinute: number }
  /** JSON bodies of the API's state-changing routes, by route ('POST /api/v1/...'). */
  bodies: Record<string, (ctx: SecurityContext) => Promise<unknown>>
}

/** There is no API in this version of the app; the inventory test asks for this entry once /api routes appear. */
export const API: ApiSpec | undefined = undefined

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
    if (isNotYetCovered(route)) continue
    const syntax = unsupportedSyntax(route.path)
    if (syntax) problems.push(`${key}: ${syntax}`)
    if (route.method === 'ALL') problems.push(`${key}: router.all() answers every method; register the methods it serves`)
    for (const name of paramsOf(route.path)) {
      const source = PARAMS[audience][name]
      if (!source) problems.push(`${key}: unknown parameter :${name} for ${audience} routes; add PARAMS.${audience}.${name} in test/integration/security/table.ts`)
      else if (audience === 'citizen' && !source.othersOfCitizens) problems.push(`${key}: PARAMS.citizen.${name} needs othersOfCitizens (ids of other citizens that must answer 404)`)
      else if (audience === 'staff' && source.otherBiobank === undefined) problems.push(`${key}: PARAMS.staff.${name} needs otherBiobank (the status another biobank's staff get)`)
    }
    if (audience === 'api') {
      if (!API) problems.push(`${key}: an /api route, but API in test/integration/security/table.ts is not set (bearer key, rate limit setting)`)
      else if (isStateChanging(route) && !API.bodies[key]) problems.push(`${key}: no JSON body in API.bodies`)
    } else if (isStateChanging(route) && !STATE_CHANGES[key]) {
      problems.push(`${key}: a state-changing route without an entry in STATE_CHANGES (who makes it, with what body)`)
    }
  }
  return problems
}
