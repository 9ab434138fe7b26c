// The event a single-event panel (stickiness, lifecycle) asks about: typed or picked from the
// top events' names, the most frequent one until someone chooses.

export function mountEventPicker(form, refresh) {
  const input = form.elements.event;
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  form.elements.interval.addEventListener("change", refresh);
  document.addEventListener("eventnames", (e) => {
    if (!input.value && e.detail.names.length) {
      input.value = e.detail.names[0];
      refresh();
    }
  });
  document.addEventListener("rangechange", refresh);
  document.addEventListener("filterschange", refresh);
  return {
    get value() {
      return input.value.trim();
    },
  };
}
