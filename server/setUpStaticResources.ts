// Static files: Det Fælles Designsystem straight from its npm package, and our own small stylesheet and script.
import path from 'node:path'
import express, { Router } from 'express'
import { projectRoot, type Config } from './config.ts'

export function setUpStaticResources(config: Config): Router {
  const router = Router()
  const cache = { maxAge: config.production ? '1d' : 0, index: false, redirect: false } as const
  // A direct dependency, so npm installs it at the top of node_modules (its package.json is not exported).
  const dkfds = path.join(projectRoot, 'node_modules', 'dkfds', 'dist')
  router.use('/assets/dkfds', express.static(dkfds, cache))
  router.use('/assets', express.static(path.join(projectRoot, 'assets'), cache))
  return router
}
