// The Print button of the console's dispute report: the browser's own print dialog.
// A file of its own because the pages' Content-Security-Policy allows no inline script.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () {
    window.print();
  });
});
