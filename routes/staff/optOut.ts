// Opt-out on a citizen's behalf, paper channel (/medarbejder/fravalg).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function optOutRoutes(_services: Services): Router {
  const router = Router()
  return router
}
