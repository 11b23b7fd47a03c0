// Form and JSON bodies, with small limits: an oversized body is refused with 413 before any handler runs.
import express, { Router } from 'express'

export function setUpWebRequestParsing(): Router {
  const router = Router()
  router.use(express.urlencoded({ extended: false, limit: '100kb', parameterLimit: 200 }))
  router.use(express.json({ limit: '1mb' }))
  return router
}
