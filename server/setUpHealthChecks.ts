// /healthz: the process is up. /readyz: the database answers (503 when it does not), for load balancers.
import { Router } from 'express'
import type { Services } from './services/index.ts'

export function setUpHealthChecks(services: Services): Router {
  const router = Router()
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'UP' })
  })
  router.get('/readyz', async (_req, res) => {
    const ready = await services.database.isReady()
    res.status(ready ? 200 : 503).json({ status: ready ? 'UP' : 'DOWN', checks: { database: ready ? 'UP' : 'DOWN' } })
  })
  return router
}
