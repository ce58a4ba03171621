// Turns the pending page of a crash into its report once the crash is processed, without a
// reload loop: polls the crash's status, then fetches the report and swaps the page's <main>.
// No inline script anywhere (the pages' Content-Security-Policy forbids it); the page works
// without this file too (it says to reload).
(function () {
  'use strict';
  var box = document.getElementById('pending');
  if (!box || !window.fetch || !window.DOMParser) return;
  var statusUrl = box.getAttribute('data-status-url');
  var reportUrl = box.getAttribute('data-report-url');
  var started = Date.now();

  function say(text) {
    var p = document.getElementById('pending-message');
    if (p) p.textContent = text;
  }

  // Quick while someone is likely waiting, gentler after a minute.
  function nextDelay() {
    return Date.now() - started < 60000 ? 500 : 5000;
  }

  function show(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var fresh = doc.getElementById('main');
    var current = document.getElementById('main');
    if (!fresh || !current || doc.getElementById('pending')) {
      // Not the report after all: one reload shows whatever the server has now.
      window.location.reload();
      return;
    }
    current.replaceWith(document.importNode(fresh, true));
    document.title = doc.title;
    var main = document.getElementById('main');
    if (main) main.focus({ preventScroll: true });
  }

  function poll() {
    fetch(statusUrl, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('the server answered ' + response.status);
        return response.json();
      })
      .then(function (status) {
        if (status.state === 'pending') {
          window.setTimeout(poll, nextDelay());
          return null;
        }
        if (status.state !== 'processed') throw new Error('unexpected state');
        return fetch(reportUrl, { cache: 'no-store' }).then(function (response) {
          return response.text();
        }).then(show);
      })
      .catch(function (error) {
        say('Could not check whether the crash is processed (' + error.message + '). Reload the page to try again.');
      });
  }

  window.setTimeout(poll, 500);
})();
