// Biobank staff pages (the region's staff sign-in).
import { Router } from 'express'
import type { Services } from '../server/services/index.ts'
import { requireStaff } from '../server/auth/guards.ts'

export default function staffRoutes(_services: Services): Router {
  const router = Router()
  router.use('/medarbejder', requireStaff())
  router.get('/medarbejder', (_req, res) => res.render('pages/staff/start'))
  return router
}
