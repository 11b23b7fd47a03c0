// The staff dashboard (GET /medarbejder).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function dashboardRoutes(_services: Services): Router {
  const router = Router()
  router.get('/medarbejder', (_req, res) => res.render('pages/staff/start'))
  return router
}
