// Applies the saved theme before first paint; without a saved choice the browser's preference applies (CSS).
(function () {
  try {
    var t = localStorage.getItem("almanac-theme");
    if (t === "light" || t === "dark") document.documentElement.setAttribute("data-theme", t);
  } catch (e) { /* storage unavailable: follow the system */ }
})();
