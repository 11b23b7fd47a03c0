// Making any route's request the way its user would, from the tables: ids filled in, a body the app acts on,
// and a snapshot of what a request could change (every table, and the actor's own session).
import { newAgent, type Agent } from '../../support/oidcFlow.ts'
import { isCitizenId, SecurityContext, type ActorId, type Response } from './harness.ts'
import { audienceOf, fillPath, paramsOf, routeKey, type AppRoute } from './routes.ts'
import { API, bodyFor, PARAMS, STATE_CHANGES, staffActorFor, type StateChangeSpec } from './table.ts'

export const kindOf = (actor: ActorId): 'citizen' | 'staff' => (isCitizenId(actor) ? 'citizen' : 'staff')

/** The route's path with the usual actor's own ids in it (PARAMS.<audience>.<name>.own). */
export async function ownPath(ctx: SecurityContext, route: AppRoute): Promise<{ path: string; values: Record<string, string> }> {
  const audience = audienceOf(route.path)
  const values: Record<string, string> = {}
  for (const name of paramsOf(route.path)) values[name] = await PARAMS[audience][name]!.own(ctx)
  return { path: fillPath(route.path, values), values }
}

/** Who normally opens a GET route (undefined: anyone, not signed in). */
export function pageActorFor(route: AppRoute): ActorId | undefined {
  const audience = audienceOf(route.path)
  if (audience === 'citizen') return 'dorte'
  if (audience === 'staff') return staffActorFor(route.path)
  return undefined
}

export interface PreparedChange {
  route: AppRoute
  spec: StateChangeSpec
  actor: ActorId
  agent: Agent
  path: string
  values: Record<string, string>
  body: Record<string, string>
}

/** A state-changing request ready to send as its actor would (no CSRF token yet). */
export async function prepareChange(ctx: SecurityContext, route: AppRoute): Promise<PreparedChange> {
  const spec = STATE_CHANGES[routeKey(route)]
  if (!spec) throw new Error(`${routeKey(route)} has no STATE_CHANGES entry`)
  const agent = spec.freshSession ? await ctx.signIn(spec.actor) : await ctx.as(spec.actor)
  await spec.prepare?.(ctx, agent)
  const { path, values } = await ownPath(ctx, route)
  const body = await bodyFor(ctx, spec, agent, route.path, path, (p) => fillPath(p, values))
  return { route, spec, actor: spec.actor, agent, path, values, body }
}

/** Sends the prepared request with `extra` fields (e.g. `_csrf`), as `agent` (default: its actor), to `path` (default: its own). */
export async function send(
  ctx: SecurityContext,
  change: PreparedChange,
  options: { extra?: Record<string, string>; agent?: Agent; path?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const agent = options.agent ?? change.agent
  const url = ctx.url(options.path ?? change.path)
  let request = agent[change.route.method.toLowerCase() as 'post'](url).redirects(0).ok(() => true)
  for (const [name, value] of Object.entries(options.headers ?? {})) request = request.set(name, value)
  const body = { ...change.body, ...options.extra }
  if (change.spec.upload) {
    for (const [name, value] of Object.entries(body)) request = request.field(name, value)
    return request.attach(change.spec.upload.field, change.spec.upload.content(), { filename: change.spec.upload.filename, contentType: change.spec.upload.contentType })
  }
  return request.type('form').send(body)
}

/**
 * A request to an /api route as an integration sends it: the route's JSON body (state-changing routes, API.routes),
 * the RH ids in the path (or `path`), and the headers given: none by default, so no key and no cookie; `agent` sends
 * the cookies of its session as well.
 */
export async function apiSend(
  ctx: SecurityContext,
  route: AppRoute,
  options: { headers?: Record<string, string | undefined>; path?: string; agent?: Agent; body?: unknown } = {},
): Promise<Response> {
  const spec = API.routes[routeKey(route)]
  if (!spec) throw new Error(`${routeKey(route)} has no API.routes entry`)
  const path = options.path ?? (await ownPath(ctx, route)).path
  let request = (options.agent ?? newAgent())[route.method.toLowerCase() as 'post'](ctx.url(path)).redirects(0).ok(() => true)
  for (const [name, value] of Object.entries(options.headers ?? {})) if (value !== undefined) request = request.set(name, value)
  if (route.method === 'GET' || route.method === 'HEAD') return request
  const body = options.body ?? (await spec.body!(ctx))
  return request.set('Content-Type', 'application/json').send(JSON.stringify(body))
}

export interface Snapshot {
  session: string
  database: string
}

/**
 * What a request could have changed, read in an order that keeps the reads themselves out of the comparison:
 * before a request the session first (opening the start page may write an audit row), then the database; after
 * it the database first, then the session.
 */
export async function before(ctx: SecurityContext, agent: Agent, actor: ActorId): Promise<Snapshot> {
  const session = await ctx.sessionState(agent, kindOf(actor))
  return { session, database: await ctx.fingerprint() }
}

export async function after(ctx: SecurityContext, agent: Agent, actor: ActorId): Promise<Snapshot> {
  const database = await ctx.fingerprint()
  return { session: await ctx.sessionState(agent, kindOf(actor)), database }
}

/** Empty when nothing changed; otherwise what did. */
export function differences(a: Snapshot, b: Snapshot): string[] {
  const changed = SecurityContext.changedTables(a.database, b.database).map((t) => `table ${t}`)
  if (a.session !== b.session) changed.push(`session (${a.session} → ${b.session})`)
  return changed
}
