// The "upload a static cohort" form: a name and a CSV file whose first column is the ids, sent as
// the multipart POST cohorts takes. The API takes a file whole or not at all and names each
// rejected line by number; the panel lists those lines under the file input, one per line, so
// the sender can fix the file and send it again.

export function mountCohortUpload(panel, ctx, { onCreated }) {
  const form = panel.$("[data-role=upload-form]");
  const status = panel.$("[data-role=uploaded]");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    status.textContent = "";
    const file = form.elements.file.files[0];
    if (!form.elements.name.value.trim() || !file) {
      panel.clearErrors();
      panel.$(":scope > [data-role=error]").textContent = "Give the cohort a name and pick a CSV file of ids.";
      return;
    }
    const body = new FormData();
    body.append("name", form.elements.name.value.trim());
    body.append("file", file);
    const cohort = await panel.run((signal) => ctx.api.postForm("cohorts", body, { signal }));
    if (!cohort) return;
    const ids = cohort.definition?.user_ids?.length ?? 0;
    status.textContent = `Created “${cohort.name}” from ${ids} ids. Its members are being computed; its size shows in the list once done.`;
    form.reset();
    onCreated(cohort);
  });
}
