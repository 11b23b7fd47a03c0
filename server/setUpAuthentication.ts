// passport with one hardened OpenID Connect strategy per kind of user; the signed-in user is put in the view.
import { Passport } from 'passport'
import { Router } from 'express'
import type { Services } from './services/index.ts'
import type { SessionUser } from './services/authService.ts'
import { biobanks, label, staffRoles } from './domain/vocabulary.ts'
import { createOidcLogin, type OidcLogin } from './auth/oidcLogin.ts'

export interface Authentication {
  router: Router
  passport: InstanceType<typeof Passport>
  oidc: OidcLogin
}

export function setUpAuthentication(services: Services): Authentication {
  // One passport per app, so several apps in one process (tests) never share strategies.
  const passport = new Passport()
  // The session holds ids and display names only: never a CPR number, never a token.
  passport.serializeUser((user, done) => done(null, user))
  passport.deserializeUser((user: Express.User, done) => done(null, user))

  const router = Router()
  router.use(passport.initialize())
  router.use(passport.session())
  router.use((req, res, next) => {
    const user = req.user as SessionUser | undefined
    if (user) {
      const lang = req.lang
      res.locals.user =
        user.kind === 'citizen'
          ? { kind: 'citizen', name: user.name }
          : {
              kind: 'staff',
              name: user.name,
              role: user.role,
              roleLabel: [label(staffRoles, user.role, lang), user.biobankCode ? biobanks.find((b) => b.code === user.biobankCode)?.name : undefined].filter(Boolean).join(', '),
            }
    }
    next()
  })
  return { router, passport, oidc: createOidcLogin(services, passport) }
}
