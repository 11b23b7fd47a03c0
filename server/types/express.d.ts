// What our middleware adds to Express's request and to the locals every view can read.
import type { TFunction } from 'i18next'
import type { Language, ViewUser, VocabularyName } from '../setUpViews.ts'

declare module 'express-serve-static-core' {
  interface Request {
    /** The page language, set by setUpViews for every request after the static files. */
    lang: Language
  }
  interface Locals {
    lang: Language
    otherLang: Language
    /** i18next `t`, bound to the request's language. */
    t: TFunction
    /** A date or date-time in Danish time, in the page's language. */
    formatDate: (value: Date | string) => string
    formatDateTime: (value: Date | string) => string
    /** The label of a vocabulary code (material, temperature, availability …) in the page's language. */
    labelOf: (vocabulary: VocabularyName, code: string) => string
    /** The path of the request, without the query. */
    currentPath: string
    /** The current page in the other language: path + `?lang=<other>`, other query parameters kept. */
    langSwitchUrl: string
    user?: ViewUser
    csrfToken?: string
  }
}

export {}
