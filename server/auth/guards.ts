// Route guards. They keep citizens and staff apart; the services check authorisation again on every call.
import type { Request, RequestHandler } from 'express'
import { HttpError } from '../errorHandler.ts'
import type { CitizenSessionUser, SessionUser, StaffSessionUser } from '../services/authService.ts'
import type { StaffRole } from '../domain/vocabulary.ts'

export function sessionUser(req: Request): SessionUser | undefined {
  return req.user as SessionUser | undefined
}

export function citizenOf(req: Request): CitizenSessionUser {
  const user = sessionUser(req)
  if (user?.kind !== 'citizen') throw new HttpError(403, 'citizen session required')
  return user
}

export function staffOf(req: Request): StaffSessionUser {
  const user = sessionUser(req)
  if (user?.kind !== 'staff') throw new HttpError(403, 'staff session required')
  return user
}

function loginPath(kind: SessionUser['kind'], req: Request): string {
  const path = kind === 'citizen' ? '/auth/borger/login' : '/auth/medarbejder/login'
  return req.method === 'GET' ? `${path}?returnTo=${encodeURIComponent(req.originalUrl)}` : path
}

export const requireCitizen: RequestHandler = (req, res, next) => {
  const user = sessionUser(req)
  if (!user) return res.redirect(303, loginPath('citizen', req))
  if (user.kind !== 'citizen') return next(new HttpError(403, 'staff may not use the citizen portal'))
  next()
}

export function requireStaff(...roles: StaffRole[]): RequestHandler {
  return (req, res, next) => {
    const user = sessionUser(req)
    if (!user) return res.redirect(303, loginPath('staff', req))
    if (user.kind !== 'staff') return next(new HttpError(403, 'citizens may not use the staff pages'))
    if (roles.length > 0 && !roles.includes(user.role)) return next(new HttpError(403, `role ${user.role} may not do this`))
    next()
  }
}

/** A same-origin path to return to after login, or undefined: never another host, scheme or protocol-relative URL. */
export function safeReturnTo(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length > 2000) return undefined
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return undefined
  try {
    const base = 'http://same-origin.invalid'
    const url = new URL(value, base)
    if (url.origin !== base) return undefined
    return `${url.pathname}${url.search}`
  } catch {
    return undefined
  }
}
