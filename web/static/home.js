// The first-run page of `/` turns into the home page by itself once the first crash is
// searchable: polls a cheap Super Search (no hits, no facets) every 2 s and reloads the page when
// its total is above zero. No inline script anywhere (the pages' Content-Security-Policy forbids
// it); without this file the page says to reload.
(function () {
  'use strict';
  var box = document.getElementById('first-run');
  if (!box || !window.fetch) return;
  var pollUrl = box.getAttribute('data-poll-url');
  var status = document.getElementById('first-run-status');
  if (!pollUrl) return;
  if (status) status.textContent = 'Waiting for the first crash\u2026 this page updates by itself when it arrives.';

  function poll() {
    fetch(pollUrl, { cache: 'no-store', headers: { Accept: 'application/json' } })
      .then(function (response) {
        if (!response.ok) throw new Error('the server answered ' + response.status);
        return response.json();
      })
      .then(function (answer) {
        if (answer && answer.total > 0) {
          if (status) status.textContent = 'A crash has arrived: loading the overview\u2026';
          window.location.reload();
          return;
        }
        window.setTimeout(poll, 2000);
      })
      .catch(function () {
        // The server restarting or the index busy: keep trying, a little slower.
        window.setTimeout(poll, 5000);
      });
  }
  window.setTimeout(poll, 2000);
})();
