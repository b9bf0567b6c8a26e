// allauth's WebAuthn scripts report a failed ceremony (no key, cancelled, timed out) as an
// `allauth.error` event and otherwise only log it; show it on the page (#mfa-error) instead.
(function () {
  document.addEventListener('allauth.error', function (event) {
    const box = document.getElementById('mfa-error')
    if (!box) {
      return
    }
    event.preventDefault()
    const error = event.detail && event.detail.exception
    const name = error && error.name
    box.textContent = name === 'NotAllowedError'
      ? 'The security key did not answer, or the request was cancelled. Try again.'
      : 'The security key could not be used' + (error && error.message ? ': ' + error.message : '.')
    box.hidden = false
  })
})()
