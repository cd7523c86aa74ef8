// RealtorOS web app: small progressive enhancements. Every page works without them.
"use strict";

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || "";

async function getJSON(url) {
  const response = await fetch(url, { headers: { accept: "application/json" }, credentials: "same-origin" });
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// A draft being written (or being sent): poll its state, fill it in when it changes.
function watchDraft(root) {
  const url = root.dataset.stateUrl;
  const status = document.getElementById("draft-status");
  const note = document.getElementById("draft-note");
  const subject = document.getElementById("subject");
  const body = document.getElementById("body_text");
  const held = root.querySelectorAll(".when-held");
  const finals = ["sent", "failed", "skipped", "unknown"];
  let last = root.dataset.status;
  const show = (state) => {
    status.textContent = state.status.replace("_", " ");
    status.className = `status s-${state.status}`;
    const editable = state.status === "awaiting_approval";
    if (last !== state.status && editable) {
      subject.value = state.subject || "";
      body.value = state.body_text || "";
    }
    subject.readOnly = body.readOnly = !editable;
    held.forEach((el) => { el.hidden = !editable; });
    note.textContent = state.status === "composing" ? "The composer is writing this email; it appears here by itself."
      : state.status === "sending" ? "Sending…" : state.failure_reason || "";
    const reasons = document.getElementById("review-reasons");
    reasons.hidden = !state.needs_review;
    reasons.textContent = `Needs review: ${state.review_reasons.join("; ")}`;
    const final = document.getElementById("final");
    if (final && state.final) {
      final.hidden = false;
      for (const key of ["from", "to", "subject", "text"]) document.getElementById(`final-${key}`).textContent = state.final[key];
      const missing = document.getElementById("final-missing");
      missing.hidden = !state.final.missing.length;
    }
    const link = document.getElementById("email-link");
    if (link && state.email_id && !editable && state.status !== "composing") {
      link.querySelector("a").href = `/app/emails/${state.email_id}`;
      link.hidden = false;
    }
    last = state.status;
  };
  const tick = async () => {
    try { show(await getJSON(url)); } catch (e) { /* keep polling: a blip is not the end */ }
    // A task not due yet stays pending for days: ask less often until it is being written.
    if (!finals.includes(last) && last !== "awaiting_approval") setTimeout(tick, last === "pending" ? 3000 : 1000);
  };
  if (!finals.includes(last) && last !== "awaiting_approval") setTimeout(tick, 1000);
}

// An import running in the background: progress until it is done, then the report.
function watchImport(root) {
  const url = root.dataset.stateUrl;
  const tick = async () => {
    try {
      const state = await getJSON(url);
      document.getElementById("import-count").textContent = `${state.processed} of ${state.total} rows`;
      const bar = document.getElementById("import-bar");
      bar.max = state.total || 1; bar.value = state.processed;
      const status = document.getElementById("import-status");
      status.textContent = state.status; status.className = `status s-${state.status}`;
      if (state.status === "completed" || state.status === "failed") { window.location.reload(); return; }
    } catch (e) { /* try again */ }
    setTimeout(tick, 1000);
  };
  if (!["completed", "failed"].includes(root.dataset.status)) setTimeout(tick, 700);
}

// Import: once a file is chosen, show its columns with the suggested field of each.
function mapColumns(form) {
  const input = form.querySelector('input[type="file"]');
  const rows = document.getElementById("mapping-rows");
  const options = document.getElementById("target-options").innerHTML;
  const error = document.getElementById("file-error");
  input.addEventListener("change", async () => {
    rows.textContent = ""; error.hidden = true;
    if (!input.files.length) return;
    const data = new FormData(); data.append("file", input.files[0]);
    const response = await fetch(form.dataset.columnsUrl, { method: "POST", body: data, headers: { "x-csrf-token": csrf() } });
    const answer = await response.json();
    if (!response.ok) { error.textContent = answer.error; error.hidden = false; return; }
    answer.headers.forEach((header, i) => {
      const row = document.createElement("div"); row.className = "field";
      const label = document.createElement("label"); label.htmlFor = `map-${i}`; label.textContent = header;
      const select = document.createElement("select"); select.id = `map-${i}`; select.name = `map:${header}`;
      select.innerHTML = options; select.value = answer.mapping[header] || "ignore";
      row.append(label, select); rows.append(row);
    });
    document.getElementById("mapping").hidden = false;
  });
}

// The Google button hands its ID token to our form (which carries the CSRF token).
window.realtorosGoogle = (response) => {
  const form = document.getElementById("google-form");
  form.credential.value = response.credential;
  form.submit();
};

document.addEventListener("DOMContentLoaded", () => {
  const draft = document.getElementById("draft"); if (draft) watchDraft(draft);
  const progress = document.getElementById("import-progress"); if (progress) watchImport(progress);
  const form = document.getElementById("import-form"); if (form) mapColumns(form);
});
