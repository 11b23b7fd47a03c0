// `npm run db:seed`: replace all data with the demo data set (refused in production).
import { loadConfigFromEnvironment } from '../config.ts'
import { bootstrap } from '../bootstrap.ts'
import { reloadDemoData } from '../../seeders/index.ts'
import { failAndExit } from './fail.ts'

try {
  const config = loadConfigFromEnvironment()
  if (config.production) throw new Error('db:seed replaces all data and is refused when NODE_ENV=production')
  const runtime = await bootstrap(config)
  await reloadDemoData(runtime.services)
  console.log('Demo data loaded.')
  await runtime.shutdown()
} catch (error) {
  failAndExit(error)
}
