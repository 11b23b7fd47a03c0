// Process checks shared by the test tools that find and stop embedded PostgreSQL clusters left running.
import fs from 'node:fs'
import path from 'node:path'

/** True while a process with this pid exists (EPERM: it exists, but belongs to another user, e.g. postgres). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The pid and command line of the postmaster running on `pgDir` (its postmaster.pid), if one is alive. */
export function livePostmaster(pgDir: string): { pid: number; command: string } | undefined {
  let pid: number
  try {
    pid = Number(fs.readFileSync(path.join(pgDir, 'postmaster.pid'), 'utf8').split('\n')[0])
  } catch {
    return undefined
  }
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined
  const command = fs.existsSync(`/proc/${pid}/cmdline`) ? fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8') : ''
  return command.includes('postgres') ? { pid, command } : undefined
}
