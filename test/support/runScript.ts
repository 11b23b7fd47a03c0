// Runs one of the project's TypeScript command-line tools as a child process, the way npm would, and collects
// what it printed: for tests of `npm run import`, `bench:smoke` and `soak -- --smoke`.
import { spawn } from 'node:child_process'
import { projectRoot } from '../../server/config.ts'

export interface ScriptRun {
  /** The exit code; null when the process ended by a signal (SIGTERM after `stopAfterMs`). */
  status: number | null
  stdout: string
  stderr: string
}

export function runScript(script: string, args: readonly string[], env: NodeJS.ProcessEnv, stopAfterMs: number): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
    const timer = setTimeout(() => child.kill('SIGTERM'), stopAfterMs)
    child.once('error', reject)
    child.once('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}
