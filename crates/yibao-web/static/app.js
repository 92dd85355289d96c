// yibao's one script: what the pages' buttons and choices do. Pages hold no inline script,
// so the Content-Security-Policy can allow scripts from yibao's own address only.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });
  // Suggestions as one types (a hospital by name): data-suggest is the address, what was
  // typed is appended; the answers fill the input's datalist. Without the script the name
  // typed in full is looked up when the form is sent.
  // With data-multi the input holds several, separated by commas: what is looked up is the
  // last, and a suggestion replaces only that one.
  document.querySelectorAll('input[data-suggest]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var head = '';
      var typed = input.value.trim();
      if (input.hasAttribute('data-multi')) {
        var cut = Math.max(input.value.lastIndexOf(','), input.value.lastIndexOf('，'));
        head = cut >= 0 ? input.value.slice(0, cut + 1) + ' ' : '';
        typed = input.value.slice(cut + 1).trim();
      }
      if (!list || typed.length < 2) { return; }
      timer = setTimeout(function () {
        fetch(input.dataset.suggest + encodeURIComponent(typed), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) {
            list.replaceChildren();
            found.forEach(function (i) {
              var option = document.createElement('option');
              option.value = head + i.name;
              option.label = i.about + ' · ' + i.code;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 200);
    });
  });
  // Lists as stacked cards on a phone (app.css): each cell carries its column's name.
  document.querySelectorAll('main table').forEach(function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (table.classList.contains('kv') || !head) { return; }
    var names = Array.prototype.map.call(head.cells, function (c) {
      return c.colSpan > 1 ? null : c.textContent.trim();
    });
    if (names.indexOf(null) >= 0) { return; }
    Array.prototype.forEach.call(table.tBodies, function (body) {
      Array.prototype.forEach.call(body.rows, function (row) {
        Array.prototype.forEach.call(row.cells, function (cell, i) {
          if (names[i] && cell.colSpan === 1) { cell.setAttribute('data-label', names[i]); }
        });
      });
    });
    table.classList.add('stacked');
  });
  // A choice that changes what the form asks (a claim's case): data-refresh names the button
  // that sends the form back to be shown again, keeping everything typed and chosen.
  document.querySelectorAll('select[data-refresh]').forEach(function (select) {
    var button = document.getElementById(select.dataset.refresh);
    if (button) { button.hidden = true; }
    select.addEventListener('change', function () { if (button) { button.click(); } });
  });
  // A choice that opens another page: data-go is the address, the chosen value is appended.
  document.querySelectorAll('select[data-go]').forEach(function (select) {
    select.addEventListener('change', function () {
      window.location = select.dataset.go + encodeURIComponent(select.value);
    });
  });
});
