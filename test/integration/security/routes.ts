// The app's routes, read from the app itself: the Express 5 router stack of createApp(services), walked down
// through every mounted router. Routes are registered with full paths ('/borger/proever/:publicId') on routers
// mounted without a prefix, but a prefix (app.use('/api', apiRouter)) is followed too.
import type express from 'express'

export interface AppRoute {
  /** Upper case: GET, POST, PUT, PATCH, DELETE, ..., or ALL for router.all(). */
  method: string
  path: string
}

/** Who a route is for, by its address. */
export type Audience = 'public' | 'auth' | 'citizen' | 'staff' | 'api' | 'oidc'

interface LayerLike {
  route?: { path: unknown; methods: Record<string, boolean | undefined> }
  handle?: { stack?: unknown }
  rawPath?: unknown
}

/** Every (method, path) the app answers by a route, in registration order, without duplicates. */
export function listRoutes(app: express.Express): AppRoute[] {
  const found: AppRoute[] = []
  const walk = (stack: LayerLike[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const { path, methods } = layer.route
        // A regular expression or an array of paths cannot be filled in with ids; the suite refuses to guess.
        const text = typeof path === 'string' ? path : `<unsupported path ${String(path)}>`
        for (const [method, on] of Object.entries(methods)) if (on) found.push({ method: method === '_all' ? 'ALL' : method.toUpperCase(), path: joinPath(prefix, text) })
      } else if (layer.handle && Array.isArray(layer.handle.stack)) {
        const mount = typeof layer.rawPath === 'string' ? layer.rawPath : `<unsupported mount ${String(layer.rawPath)}>`
        walk(layer.handle.stack as LayerLike[], joinPath(prefix, mount === '/' ? '' : mount))
      }
    }
  }
  const router = (app as unknown as { router?: { stack: LayerLike[] } }).router
  if (!router) throw new Error('the app has no router (not Express 5?)')
  walk(router.stack, '')
  const seen = new Set<string>()
  return found.filter((route) => {
    const key = routeKey(route)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function joinPath(prefix: string, path: string): string {
  if (prefix === '') return path
  return path === '/' || path === '' ? prefix : `${prefix}${path}`
}

export const routeKey = (route: AppRoute) => `${route.method} ${route.path}`

const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}.`)

export function audienceOf(path: string): Audience {
  if (under(path, '/oidc')) return 'oidc'
  if (under(path, '/api')) return 'api'
  if (under(path, '/borger')) return 'citizen'
  if (under(path, '/medarbejder')) return 'staff'
  if (under(path, '/auth')) return 'auth'
  return 'public'
}

export const isStateChanging = (route: AppRoute) => !['GET', 'HEAD', 'OPTIONS'].includes(route.method)

/** The names of a path's parameters (`:publicId` → publicId). */
export function paramsOf(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!)
}

/**
 * Why the suite could not put ids into this path, or undefined: wildcards (`*rest`), optional groups (`{...}`)
 * and quoted names are path-to-regexp syntax the suite does not fill in; such a route needs a decision first.
 */
export function unsupportedSyntax(path: string): string | undefined {
  if (path.startsWith('<unsupported')) return path
  if (/[*{}"]/.test(path)) return `path syntax the suite cannot fill in: ${path}`
  return undefined
}

/** The path with each `:name` replaced by its value (URL-encoded). */
export function fillPath(path: string, values: Record<string, string>): string {
  return path.replace(/:([A-Za-z_$][\w$]*)/g, (_match, name: string) => {
    const value = values[name]
    if (value === undefined) throw new Error(`no value for :${name} in ${path}`)
    return encodeURIComponent(value)
  })
}
