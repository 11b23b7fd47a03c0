// `npm run db:migrate`: apply pending migrations (the server also does this at start).
import { loadConfigFromEnvironment } from '../config.ts'
import { bootstrap } from '../bootstrap.ts'
import { failAndExit } from './fail.ts'

try {
  const runtime = await bootstrap(loadConfigFromEnvironment())
  await runtime.shutdown()
} catch (error) {
  failAndExit(error)
}
