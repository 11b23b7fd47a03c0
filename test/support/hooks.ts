// Mocha root hooks: drop the databases this run created, then stop the test cluster this run started.
import type { Context } from 'mocha'
import { dropTestDatabases, stopTestCluster } from './testDatabase.ts'

export const mochaHooks = {
  async afterAll(this: Context) {
    // Each DROP DATABASE waits for a checkpoint; a whole run's ~80 databases took over 30 s on a loaded machine.
    this.timeout(600_000)
    await dropTestDatabases()
    await stopTestCluster()
  },
}
