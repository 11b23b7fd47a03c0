// Our only script: start Det Fælles Designsystem's components. Loaded with `defer`, after dkfds.min.js.
'use strict'
if (window.DKFDS && typeof window.DKFDS.init === 'function') {
  window.DKFDS.init()
}
