// Small progressive enhancements; every page works without JavaScript.
document.documentElement.classList.add("js");

// The Menu button of narrow screens opens and closes the navigation.
document.addEventListener("click", (event) => {
  const button = event.target.closest && event.target.closest(".menu-toggle");
  if (!button) return;
  const bar = button.closest(".topbar");
  const open = !bar.classList.contains("menu-open");
  bar.classList.toggle("menu-open", open);
  button.setAttribute("aria-expanded", String(open));
});
document.addEventListener("htmx:responseError", (event) => {
  // Show a server-side error of an htmx request where the user is looking.
  const box = document.createElement("div");
  box.className = "flash flash-error";
  box.setAttribute("role", "alert");
  const status = event.detail.xhr.status;
  box.textContent = document.documentElement.lang.startsWith("zh")
    ? `操作未完成（${status}），请刷新后重试。`
    : `The action did not complete (${status}). Please reload and try again.`;
  const main = document.getElementById("content");
  main.prepend(box);
});

// Irreversible actions ask first, in words (data-confirm on the button or its form).
// Without JavaScript the action goes through; every such page also says what it will do.
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  const text = (button && button.dataset.confirm) || event.target.dataset.confirm;
  if (text && !window.confirm(text)) {
    event.preventDefault();
    event.stopImmediatePropagation();
  }
}, true);

// The run form: ticking an order means "only the ticked orders" (and clearing all, all).
document.addEventListener("change", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.name !== "order_ids") return;
  const form = box.form;
  const selected = form && form.querySelector('input[name="scope"][value="selected"]');
  const all = form && form.querySelector('input[name="scope"][value="all"]');
  if (!selected || !all) return;
  const anyTicked = form.querySelectorAll('input[name="order_ids"]:checked').length > 0;
  (anyTicked ? selected : all).checked = true;
});

// City pickers fill the coordinates (still editable) and an empty city field. Without
// JavaScript the server fills blank coordinates from the picked city instead.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.dataset.placeLat) return;
  const option = select.selectedOptions[0];
  const lat = document.getElementById(select.dataset.placeLat);
  const lon = document.getElementById(select.dataset.placeLon);
  if (!option || !option.dataset.lat || !lat || !lon) return;
  lat.value = option.dataset.lat;
  lon.value = option.dataset.lon;
  const city = select.dataset.placeCity && document.getElementById(select.dataset.placeCity);
  // a city the picker wrote may be replaced by the next pick; one the user typed stays
  if (city && option.dataset.city && (!city.value || city.value === city.dataset.picked)) {
    city.value = option.dataset.city;
    city.dataset.picked = city.value;
  }
});
