// The Express application, assembled from one setUpX module per concern.
import express from 'express'
import type { Services } from './services/index.ts'
import { setUpRequestLogging } from './setUpRequestLogging.ts'
import { setUpWebSecurity } from './setUpWebSecurity.ts'
import { setUpHealthChecks } from './setUpHealthChecks.ts'
import { setUpStaticResources } from './setUpStaticResources.ts'
import { setUpViews } from './setUpViews.ts'
import { setUpDevProvider } from './setUpDevProvider.ts'
import { setUpWebRequestParsing } from './setUpWebRequestParsing.ts'
import { setUpWebSession, setUpSessionTimeouts } from './setUpWebSession.ts'
import { setUpAuthentication } from './setUpAuthentication.ts'
import { setUpCsrf } from './setUpCsrf.ts'
import { notFoundHandler, errorHandler } from './errorHandler.ts'
import routes from '../routes/index.ts'
import apiRoutes from '../routes/api.ts'

export function createApp(services: Services): express.Express {
  const { config } = services
  const app = express()
  app.set('trust proxy', config.trustProxy)
  app.disable('x-powered-by')

  app.use(setUpRequestLogging(services.logger))
  app.use(setUpWebSecurity(config))
  app.use(setUpHealthChecks(services))
  app.use(setUpStaticResources(config))
  setUpViews(app, config)
  // The integration API: bearer keys, its own streamed bodies and rate limits; no session, no CSRF.
  app.use(apiRoutes(services))
  app.use(setUpDevProvider(config)) // before body parsing and sessions: the provider has its own
  app.use(setUpWebRequestParsing())
  app.use(setUpWebSession(services))
  const authentication = setUpAuthentication(services)
  app.use(authentication.router)
  app.use(setUpSessionTimeouts(services))
  app.use(setUpCsrf())
  app.use(routes(services, authentication))

  app.use(notFoundHandler)
  app.use(errorHandler(config))
  return app
}
