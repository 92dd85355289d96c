// yibao's one script: what the pages' buttons and choices do. Pages hold no inline script,
// so the Content-Security-Policy can allow scripts from yibao's own address only.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });
  // Suggestions as one types (a hospital by name): data-suggest is the address, what was
  // typed is appended; the answers fill the input's datalist. Without the script the name
  // typed in full is looked up when the form is sent.
  document.querySelectorAll('input[data-suggest]').forEach(function (input) {
    var list = document.getElementById(input.getAttribute('list'));
    var timer = null;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      var typed = input.value.trim();
      if (!list || typed.length < 2) { return; }
      timer = setTimeout(function () {
        fetch(input.dataset.suggest + encodeURIComponent(typed), { credentials: 'same-origin' })
          .then(function (r) { return r.ok ? r.json() : []; })
          .then(function (found) {
            list.replaceChildren();
            found.forEach(function (i) {
              var option = document.createElement('option');
              option.value = i.name;
              option.label = i.about + ' · ' + i.code;
              list.appendChild(option);
            });
          })
          .catch(function () {});
      }, 200);
    });
  });
  // A choice that opens another page: data-go is the address, the chosen value is appended.
  document.querySelectorAll('select[data-go]').forEach(function (select) {
    select.addEventListener('change', function () {
      window.location = select.dataset.go + encodeURIComponent(select.value);
    });
  });
});
