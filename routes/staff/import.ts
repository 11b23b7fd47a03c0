// CSV import (/medarbejder/import).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function importRoutes(_services: Services): Router {
  const router = Router()
  return router
}
