// The search form (web/search_page.h): builds the canonical Super Search URL in the browser, the
// same one the server redirects a plain form submission to (canonical_query), and adds filter
// rows on demand. Without JavaScript the form still works through that redirect.
(function () {
  'use strict';
  var form = document.getElementById('search-form');
  if (!form) return;
  var rowsBox = document.getElementById('filter-rows');
  var rowKey = /^[fov]([0-9]{1,4})$/;
  var noValue = { '__null__': true, '!__null__': true, '__true__': true, '!__true__': true };

  // As html::encode_component: everything but A-Z a-z 0-9 - . _ ~ is percent-encoded.
  function encode(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return '%' + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }

  function canonicalQuery() {
    var rows = {};
    var others = [];
    var data = new FormData(form);
    data.forEach(function (value, key) {
      var m = rowKey.exec(key);
      if (m) {
        var n = Number(m[1]);
        rows[n] = rows[n] || { f: '', o: '', v: '' };
        rows[n][key[0]] = String(value);
      } else {
        others.push([key, String(value)]);
      }
    });
    var out = [];
    Object.keys(rows).map(Number).sort(function (a, b) { return a - b; }).forEach(function (n) {
      var r = rows[n];
      if (!r.f) return;
      if (noValue[r.o]) out.push([r.f, r.o]);
      else if (r.v) out.push([r.f, r.o + r.v]);
    });
    var nonEmpty = {};
    others.forEach(function (p) { if (p[1]) nonEmpty[p[0]] = true; });
    var keptEmpty = {};
    others.forEach(function (p) {
      if (p[1]) {
        out.push(p);
      } else if (p[0].charAt(0) === '_' && !nonEmpty[p[0]] && !keptEmpty[p[0]]) {
        keptEmpty[p[0]] = true;
        out.push(p);
      }
    });
    return out.map(function (p) { return encode(p[0]) + '=' + encode(p[1]); }).join('&');
  }

  form.addEventListener('submit', function (event) {
    event.preventDefault();
    var q = canonicalQuery();
    window.location.assign('/search/' + (q ? '?' + q : ''));
  });

  // "Add a filter": a copy of the last row, emptied, with the next row number.
  if (rowsBox) {
    var add = document.createElement('button');
    add.type = 'button';
    add.className = 'add-filter';
    add.textContent = 'Add a filter';
    add.addEventListener('click', function () {
      var rows = rowsBox.querySelectorAll('.filter-row');
      var last = rows[rows.length - 1];
      if (!last) return;
      var n = rows.length;
      while (form.elements['f' + n]) n += 1;
      var copy = last.cloneNode(true);
      copy.querySelectorAll('[name]').forEach(function (el) {
        var name = el.getAttribute('name').charAt(0) + n;
        el.setAttribute('name', name);
        el.id = name;
        if (el.tagName === 'INPUT') el.value = '';
        if (el.tagName === 'SELECT') el.selectedIndex = name.charAt(0) === 'f' ? 0 : el.selectedIndex;
      });
      copy.querySelectorAll('label[for]').forEach(function (label) {
        label.setAttribute('for', label.getAttribute('for').charAt(0) + n);
      });
      rowsBox.appendChild(copy);
      copy.querySelector('select').focus();
    });
    rowsBox.parentNode.appendChild(add);
  }
})();
