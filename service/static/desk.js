// The desk page's two conveniences; every page works without them.
// A Print button for the slip (Ctrl+P does the same), and a check button that cannot be
// pressed twice while its answer is on the way (a second press would make a second check).
document.addEventListener("DOMContentLoaded", function () {
  var print = document.getElementById("cetak");
  if (print) {
    print.hidden = false;
    print.addEventListener("click", function () {
      window.print();
    });
  }
  var form = document.getElementById("form-periksa");
  var button = document.getElementById("periksa");
  if (form && button) {
    form.addEventListener("submit", function () {
      button.disabled = true;
    });
    // Back to the form from the answer: the browser may show the page as it was left.
    window.addEventListener("pageshow", function () {
      button.disabled = false;
    });
  }
});
