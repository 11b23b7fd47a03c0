// Mocha root hooks: drop the databases this run created, then stop the test cluster this run started.
import { dropTestDatabases, stopTestCluster } from './testDatabase.ts'

export const mochaHooks = {
  async afterAll() {
    await dropTestDatabases()
    await stopTestCluster()
  },
}
