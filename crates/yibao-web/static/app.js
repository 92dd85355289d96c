// yibao's one script: what the pages' buttons and choices do. Pages hold no inline script,
// so the Content-Security-Policy can allow scripts from yibao's own address only.
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('[data-print]').forEach(function (button) {
    button.addEventListener('click', function () { window.print(); });
  });
  // A choice that opens another page: data-go is the address, the chosen value is appended.
  document.querySelectorAll('select[data-go]').forEach(function (select) {
    select.addEventListener('change', function () {
      window.location = select.dataset.go + encodeURIComponent(select.value);
    });
  });
});
