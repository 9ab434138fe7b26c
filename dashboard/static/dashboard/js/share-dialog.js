// The share dialog of the default dashboard: make a read-only link (optionally expiring), show its
// URL and <iframe> snippet once (only the token's hash is kept, so they cannot be shown again), and
// list the dashboard's links with Revoke.

import { ApiError } from "./api.js";
import { clearChildren, el, formatDateTime } from "./format.js";

export function mountShareDialog(dialog, ctx, { target, dashboardId }) {
  const form = dialog.querySelector("[data-role=share-form]");
  const created = dialog.querySelector("[data-role=share-created]");
  const list = dialog.querySelector("[data-role=share-links]");
  const error = dialog.querySelector("[data-role=error]");
  const fieldError = dialog.querySelector("[data-error-for=expires_at]");

  function fail(err) {
    if (!(err instanceof ApiError)) console.error(err);
    const message = err instanceof ApiError ? err.message : "Something went wrong.";
    if (err instanceof ApiError && err.param === "expires_at") fieldError.textContent = message;
    else error.textContent = message;
  }

  function status(link) {
    if (link.revoked_at) return "revoked";
    if (link.expires_at && new Date(link.expires_at) <= new Date()) return "expired";
    return link.expires_at ? `until ${formatDateTime(link.expires_at, ctx.timezone)}` : "no expiry";
  }

  async function loadLinks() {
    let rows;
    try {
      const answer = await ctx.api.get("share-links");
      rows = Array.isArray(answer) ? answer : answer.results || [];
    } catch (err) {
      fail(err);
      return;
    }
    const mine = dashboardId();
    // The project's links are listed together; this dialog shows the dashboard's own.
    rows = rows.filter((link) => link.target?.type === "dashboard" && String(link.target.id) === String(mine));
    clearChildren(list);
    if (!rows.length) list.append(el("li", { class: "muted", text: "No links yet." }));
    for (const link of rows) {
      const item = el(
        "li",
        { class: "share-links__item", "data-role": "share-link", "data-link-id": String(link.id) },
        el("code", { text: `${link.token_prefix || ""}…` }),
        el("span", { class: "muted", text: ` made ${formatDateTime(link.created_at, ctx.timezone)}, ${status(link)}` }),
      );
      if (!link.revoked_at) {
        const revoke = el("button", { type: "button", class: "button button--ghost button--small", "data-action": "revoke", text: "Revoke" });
        revoke.addEventListener("click", async () => {
          revoke.disabled = true;
          try {
            await ctx.api.delete(`share-links/${link.id}`);
          } catch (err) {
            fail(err);
          }
          loadLinks();
        });
        item.append(revoke);
      }
      list.append(item);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    fieldError.textContent = "";
    const body = {};
    const day = form.elements.expires_at.value;
    // The end of that day where the person sharing is.
    if (day) body.expires_at = new Date(`${day}T23:59:59`).toISOString();
    const submit = form.querySelector("[type=submit]");
    submit.disabled = true;
    try {
      const link = await ctx.api.post(`${await target()}/share`, body);
      created.hidden = false;
      created.querySelector("[data-role=share-url]").value = link.url;
      created.querySelector("[data-role=share-embed]").value = link.embed_html;
      form.reset();
      loadLinks();
    } catch (err) {
      fail(err);
    } finally {
      submit.disabled = false;
    }
  });
  for (const input of dialog.querySelectorAll("[data-role=share-url], [data-role=share-embed]")) {
    input.addEventListener("focus", () => input.select());
  }

  return {
    open() {
      created.hidden = true;
      error.textContent = "";
      fieldError.textContent = "";
      dialog.showModal();
      loadLinks();
    },
  };
}
