// The submission page: sign in with a token, upload a notebook, watch its status, read
// the feedback. Everything goes through the JSON API with the token in the
// Authorization header; the token stays in this tab's sessionStorage.
"use strict";

const $ = (id) => document.getElementById(id);
let token = sessionStorage.getItem("token") || "";
let polling = null;

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  let body = null;
  try { body = await response.json(); } catch (e) { body = null; }
  return { status: response.status, body, headers: response.headers };
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function score(s) {
  return s.score === null || s.score === undefined ? "" : `${s.score} / ${s.max_score}`;
}

async function refresh() {
  const chapters = await api("/api/chapters");
  if (chapters.status === 401) { signOut("Your token is not valid."); return; }
  $("who").textContent = chapters.body.student;
  const ctbody = $("chapters").querySelector("tbody");
  ctbody.replaceChildren();
  for (const ch of chapters.body.chapters) {
    const tr = document.createElement("tr");
    cell(tr, `${ch.chapter} (${ch.notebook})`);
    cell(tr, score(ch));
    cell(tr, String(ch.submissions));
    cell(tr, ch.due ? new Date(ch.due).toLocaleString() : "none");
    cell(tr, `${ch.rate_limit} per ${ch.rate_window_minutes} min; counts: ${ch.counts}` +
      (ch.diagnoses === "after_due" ? "; diagnoses after the due date" : ""));
    ctbody.appendChild(tr);
  }
  const subs = await api("/api/submissions");
  const tbody = $("submissions").querySelector("tbody");
  tbody.replaceChildren();
  let waiting = false;
  for (const s of subs.body.submissions) {
    const tr = document.createElement("tr");
    tr.dataset.id = s.id;
    cell(tr, new Date(s.received).toLocaleString());
    cell(tr, s.chapter);
    cell(tr, s.status, "status");
    cell(tr, score(s), "score");
    cell(tr, s.counts ? "yes" : "");
    const td = cell(tr, "");
    if (s.feedback_url) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = "Feedback";
      b.setAttribute("aria-label", `Feedback of ${s.chapter}, ${new Date(s.received).toLocaleString()}`);
      b.addEventListener("click", () => showFeedback(s));
      td.appendChild(b);
    }
    if (s.status === "queued" || s.status === "running") waiting = true;
    tbody.appendChild(tr);
  }
  if (waiting && !polling) polling = setInterval(refresh, 1000);
  if (!waiting && polling) { clearInterval(polling); polling = null; }
}

function showFeedback(s) {
  $("feedback").hidden = false;
  const list = $("exercises");
  list.replaceChildren();
  for (const [name, e] of Object.entries(s.exercises)) {
    const li = document.createElement("li");
    li.className = e.passed ? "passed" : "failed";
    li.textContent = `${name}: ${e.passed ? "passed" : "not passed"} (${e.score} / ${e.max_score})` +
      (e.diagnosis ? `: ${e.diagnosis}` : (e.message && !e.passed ? `: ${e.message}` : ""));
    list.appendChild(li);
  }
  $("feedback-link").href = s.feedback_url;
  $("feedback-frame").src = s.feedback_url;
}

async function signIn(value) {
  token = value.trim();
  const me = await api("/api/chapters");
  if (me.status !== 200) { signOut("That token is not valid."); return; }
  sessionStorage.setItem("token", token);
  $("signin").hidden = true;
  $("work").hidden = false;
  await refresh();
}

function signOut(message) {
  token = "";
  sessionStorage.removeItem("token");
  if (polling) { clearInterval(polling); polling = null; }
  $("work").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message || "";
}

async function upload(file) {
  const status = $("upload-status");
  if (!file) { status.textContent = "Choose a notebook first."; return; }
  const form = new FormData();
  form.append("notebook", file, file.name);
  status.textContent = `Sending ${file.name}…`;
  const r = await api("/api/submissions", { method: "POST", body: form });
  if (r.status === 202) {
    status.textContent = `${file.name} received (${r.body.chapter}); it is ${r.body.status}.`;
  } else if (r.status === 429) {
    status.textContent = `${r.body.detail} (again in ${r.headers.get("Retry-After")} s)`;
  } else {
    status.textContent = (r.body && r.body.detail) ? String(r.body.detail) : `The upload failed (${r.status}).`;
  }
  await refresh();
}

document.addEventListener("DOMContentLoaded", () => {
  $("signin-form").addEventListener("submit", (e) => { e.preventDefault(); signIn($("token").value); });
  $("signout").addEventListener("click", () => signOut(""));
  $("upload-form").addEventListener("submit", (e) => { e.preventDefault(); upload($("notebook").files[0]); });
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer.files.length) upload(e.dataTransfer.files[0]);
  });
  if (token) signIn(token);
});
