// All routes. Routes stay thin: parse, call a service, render.
import { Router } from 'express'
import type { Services } from '../server/services/index.ts'
import type { Authentication } from '../server/setUpAuthentication.ts'
import authRoutes from './auth.ts'
import citizenRoutes from './citizen.ts'
import staffRoutes from './staff.ts'

export default function routes(services: Services, authentication: Authentication): Router {
  const router = Router()
  router.get('/', (_req, res) => res.render('pages/index'))
  // Browsers ask for /favicon.ico on pages that declare no icon (JSON, the provider's error pages).
  router.get('/favicon.ico', (_req, res) => res.redirect(301, '/assets/favicon.svg'))
  router.get('/tilgaengelighed', (_req, res) => res.render('pages/accessibility'))
  router.use(authRoutes(services, authentication))
  router.use(citizenRoutes(services))
  router.use(staffRoutes(services))
  return router
}
