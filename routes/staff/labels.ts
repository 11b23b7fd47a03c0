// Label sheets (/medarbejder/etiketter).
import { Router } from 'express'
import type { Services } from '../../server/services/index.ts'

export default function labelsRoutes(_services: Services): Router {
  const router = Router()
  return router
}
