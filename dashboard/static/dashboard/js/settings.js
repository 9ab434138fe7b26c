// The project settings page is server-rendered forms; this only asks before the changes that
// cannot be undone from here (revoking a key, removing a member, withdrawing an invitation) and
// makes the project switcher open the other project.

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
}

document.querySelector("[data-role=project-switch]")?.addEventListener("change", (event) => {
  window.location.assign(event.target.value);
});
