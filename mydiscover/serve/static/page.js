// Progressive enhancement: the page works without this script (forms post and reload);
// with it, the buttons answer in place and the refresh shows its progress as it goes.
"use strict";
const csrf = document.body.dataset.csrf;

document.querySelectorAll("form.buttons").forEach((form) => {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const action = event.submitter ? event.submitter.value : "love";
    const body = new URLSearchParams({ csrf, action });
    // (form.action would be the buttons named "action", not the attribute)
    const answer = await fetch(form.getAttribute("action"), {
      method: "POST", body, headers: { Accept: "application/json" },
    });
    const pick = form.closest(".pick");
    const said = form.querySelector("output.said");
    if (!answer.ok) {
      said.textContent = (await answer.json()).error || "failed";
      return;
    }
    pick.classList.remove("said-love", "said-skip", "said-ban");
    if (action !== "unban") pick.classList.add(`said-${action}`);
    said.textContent = action === "unban" ? "" : action;
    const ban = form.querySelector("button.ban, button.unban");
    if (action === "ban" || action === "unban") {
      ban.value = action === "ban" ? "unban" : "ban";
      ban.className = ban.value;
      ban.textContent = action === "ban" ? "unban" : "never again";
    }
  });
});

const refresh = document.querySelector("form.refresh");
const progress = document.getElementById("progress");

async function follow() {
  const job = await (await fetch("/api/refresh", { headers: { Accept: "application/json" } })).json();
  const counted = job.total ? ` (${job.done} of ${job.total})` : "";
  const lines = document.createElement("pre");
  lines.textContent = job.lines.join("\n");
  const status = document.createElement("p");
  status.textContent = job.running ? `Running: ${job.step}${counted}` : "Finished.";
  progress.replaceChildren(status, lines);
  if (job.running) setTimeout(follow, 1000);
  else refresh.querySelector("button").disabled = false;
}

if (refresh) {
  refresh.addEventListener("submit", async (event) => {
    event.preventDefault();
    refresh.querySelector("button").disabled = true;
    await fetch("/refresh", {
      method: "POST", body: new URLSearchParams({ csrf }), headers: { Accept: "application/json" },
    });
    follow();
  });
  if (refresh.querySelector("button").disabled) follow();
}
